//! Fixed-order f32 kernels.
//!
//! # Why these give the same bits everywhere
//! IEEE 754 makes each `+`, `*`, `/` and `sqrt` of two f32 values correctly
//! rounded, so a computation gives the same bits on any conforming CPU *if*
//! the same operations run in the same order on the same values. The
//! kernels fix that order:
//!
//! - **Every sum has one order.** A dot product for output `o` is
//!   `((b + x₀·w₀) + x₁·w₁) + … + x_{K−1}·w_{K−1}`, each product rounded to
//!   f32, then added, in increasing `k`. Sums for layer norm, softmax and
//!   pooling run over their index in increasing order. Rust never
//!   reassociates float arithmetic (no fast-math), so the compiler cannot
//!   change these orders.
//! - **No fused multiply-add.** `fma(a, b, c)` rounds once where `a*b + c`
//!   rounds twice; results differ in the last bits. Rust never contracts
//!   `a*b + c` into an FMA on its own, but a `mul_add` in the source would
//!   be an FMA instruction on CPUs/builds that have one and a (slow,
//!   correctly rounded) software routine elsewhere — the same bits, but only
//!   if every verifier pays for it; and mixing it with plain `a*b + c` by
//!   build flags would change results. So `mul_add` appears nowhere (except
//!   the test-only `--cfg aether_infer_fma` build, which exists to show the
//!   golden test can fail).
//! - **Vectorised only across independent outputs.** The matrix kernel keeps
//!   an `MR × NR` tile of *different* outputs in registers and updates all of
//!   them with one `k` step at a time; SIMD lanes hold different outputs,
//!   never parts of one sum. The tile shape and instruction set are picked
//!   at run time ([`Isa`]: SSE2, AVX2 or AVX-512F, never FMA) for speed; the
//!   result does not depend on them (tested bit for bit, in process and
//!   across builds).
//! - **Transcendentals from `libm`** (a Rust port of musl): `expf`, `erff`
//!   and `sqrtf` are plain f32/f64 code (`sqrtf` is the correctly rounded
//!   `sqrtss` instruction), not the platform's math library, whose results
//!   vary by vendor and version.
//! - **One thread.** A job's arithmetic runs on the calling thread;
//!   parallelism is across jobs.

/// Instruction-set level of the matrix kernel. It sets the register tile
/// (rows `MR` × outputs `NR`) and so the speed; every level computes every
/// output with the same operations in the same order, so the bits are the
/// same (tested).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Isa {
    /// Plain Rust (SSE2 on x86-64): 4 × 8 tile.
    Portable,
    /// AVX2 without FMA: 6 × 16 tile.
    Avx2,
    /// AVX-512F without FMA: 4 × 32 tile (larger tiles spill registers).
    Avx512,
}

impl Isa {
    /// Outputs per panel.
    fn nr(self) -> usize {
        match self {
            Isa::Portable => 8,
            Isa::Avx2 => 16,
            Isa::Avx512 => 32,
        }
    }

    /// The levels this CPU runs, best last.
    pub(crate) fn available() -> Vec<Isa> {
        let mut v = vec![Isa::Portable];
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2") {
                v.push(Isa::Avx2);
            }
            if std::arch::is_x86_feature_detected!("avx512f") {
                v.push(Isa::Avx512);
            }
        }
        v
    }

    /// The level used: the best available, or the one named by the
    /// environment variable `AETHER_INFER_KERNEL` (`portable`, `avx2`,
    /// `avx512`) when the CPU has it — for tests and benchmarks, since the
    /// result does not depend on it. Decided once per process.
    pub(crate) fn current() -> Isa {
        static ISA: std::sync::OnceLock<Isa> = std::sync::OnceLock::new();
        *ISA.get_or_init(|| {
            let available = Isa::available();
            let wanted = match std::env::var("AETHER_INFER_KERNEL").as_deref() {
                Ok("portable") => Some(Isa::Portable),
                Ok("avx2") => Some(Isa::Avx2),
                Ok("avx512") => Some(Isa::Avx512),
                _ => None,
            };
            match wanted {
                Some(isa) if available.contains(&isa) => isa,
                _ => *available.last().expect("portable is always available"),
            }
        })
    }
}

/// The matrix kernel's instruction-set level in this process: `"portable"`,
/// `"avx2"` or `"avx512"` (speed only: the results are the same).
pub fn kernel_level() -> &'static str {
    match Isa::current() {
        Isa::Portable => "portable",
        Isa::Avx2 => "avx2",
        Isa::Avx512 => "avx512",
    }
}

/// One multiply-accumulate step: `acc + x·w`, two roundings.
#[inline(always)]
fn madd(acc: f32, x: f32, w: f32) -> f32 {
    #[cfg(not(aether_infer_fma))]
    {
        acc + x * w
    }
    // Test-only: the fused form, which must change the golden hashes.
    #[cfg(aether_infer_fma)]
    {
        x.mul_add(w, acc)
    }
}

/// A weight matrix packed for [`matmul`]: `n` outputs of `k` inputs, stored
/// as panels of `NR` outputs (`NR` from the [`Isa`]), each panel `k` rows of
/// `NR` weights, contiguous in the order the kernel reads them; outputs past
/// `n` in the last panel are zero and never stored.
#[derive(Clone, Debug)]
pub(crate) struct Packed {
    isa: Isa,
    k: usize,
    n: usize,
    panels: Vec<f32>,
    bias: Vec<f32>,
}

impl Packed {
    /// Packs `w(o, kk)` (output `o`, input `kk`) with optional bias, for the
    /// process's kernel level.
    pub(crate) fn new(
        n: usize,
        k: usize,
        bias: Option<&[f32]>,
        w: impl Fn(usize, usize) -> f32,
    ) -> Packed {
        Packed::for_isa(Isa::current(), n, k, bias, w)
    }

    /// Packs for a given kernel level.
    pub(crate) fn for_isa(
        isa: Isa,
        n: usize,
        k: usize,
        bias: Option<&[f32]>,
        w: impl Fn(usize, usize) -> f32,
    ) -> Packed {
        // matmul relies on this to run the level's instructions soundly.
        assert!(
            Isa::available().contains(&isa),
            "{isa:?} is not available on this CPU"
        );
        let nr = isa.nr();
        let np = n.div_ceil(nr);
        let mut panels = vec![0f32; np * k * nr];
        for (p, panel) in panels.chunks_exact_mut(k * nr).enumerate() {
            for (kk, row) in panel.chunks_exact_mut(nr).enumerate() {
                for (c, slot) in row.iter_mut().enumerate() {
                    let o = p * nr + c;
                    if o < n {
                        *slot = w(o, kk);
                    }
                }
            }
        }
        let mut b = vec![0f32; np * nr];
        if let Some(bias) = bias {
            b[..n].copy_from_slice(&bias[..n]);
        }
        Packed {
            isa,
            k,
            n,
            panels,
            bias: b,
        }
    }

    /// Packs a PyTorch `Linear` weight (`[out][in]`, row-major) and bias.
    pub(crate) fn linear(weight: &[f32], bias: &[f32], n: usize, k: usize) -> Packed {
        Packed::new(n, k, Some(bias), |o, kk| weight[o * k + kk])
    }

    /// Number of outputs.
    pub(crate) fn outputs(&self) -> usize {
        self.n
    }
}

/// `out[r][o] = bias[o] + Σ_{kk in 0..k, increasing} x[r][kk]·w[o][kk]`
/// for `rows` rows; `x` is `rows × k`, `out` is `rows × n` (row-major).
pub(crate) fn matmul(x: &[f32], rows: usize, w: &Packed, out: &mut [f32]) {
    assert_eq!(x.len(), rows * w.k, "matmul input shape");
    assert_eq!(out.len(), rows * w.n, "matmul output shape");
    match w.isa {
        Isa::Portable => matmul_tiled::<4, 8>(x, rows, w, out),
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => {
            // SAFETY: a Packed has Isa::Avx2 only if `Isa::available` saw AVX2
            // on this CPU (Packed::new / for_isa are given available levels).
            #[allow(unsafe_code)]
            unsafe {
                x86::matmul_avx2(x, rows, w, out)
            }
        }
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => {
            // SAFETY: as above, for AVX-512F.
            #[allow(unsafe_code)]
            unsafe {
                x86::matmul_avx512(x, rows, w, out)
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        _ => matmul_tiled::<4, 8>(x, rows, w, out),
    }
}

/// The same generic kernel compiled with wider vector registers. Rust does
/// not contract `a*b + c` into FMA even where the target feature set has it
/// (AVX-512F implies FMA), so these compute exactly what the portable one does.
#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{Packed, matmul_tiled};

    #[target_feature(enable = "avx2")]
    pub(super) fn matmul_avx2(x: &[f32], rows: usize, w: &Packed, out: &mut [f32]) {
        matmul_tiled::<6, 16>(x, rows, w, out)
    }

    #[target_feature(enable = "avx512f")]
    pub(super) fn matmul_avx512(x: &[f32], rows: usize, w: &Packed, out: &mut [f32]) {
        matmul_tiled::<4, 32>(x, rows, w, out)
    }
}

#[inline(always)]
fn matmul_tiled<const MR: usize, const NR: usize>(
    x: &[f32],
    rows: usize,
    w: &Packed,
    out: &mut [f32],
) {
    let (k, n) = (w.k, w.n);
    debug_assert_eq!(w.isa.nr(), NR);
    let tiles = rows.div_ceil(MR);
    // x transposed per tile of MR rows: [tile][kk][r], missing rows zero.
    let mut xt = vec![0f32; tiles * k * MR];
    for (t, tile) in xt.chunks_exact_mut(k * MR).enumerate() {
        for r in 0..MR.min(rows - t * MR) {
            let row = &x[(t * MR + r) * k..][..k];
            for (kk, v) in row.iter().enumerate() {
                tile[kk * MR + r] = *v;
            }
        }
    }
    for (p, panel) in w.panels.chunks_exact(k * NR).enumerate() {
        let bias: &[f32; NR] = w.bias[p * NR..][..NR].try_into().expect("NR wide");
        let col0 = p * NR;
        let cols = NR.min(n - col0);
        for (t, tile) in xt.chunks_exact(k * MR).enumerate() {
            let acc = micro::<MR, NR>(tile, panel, bias);
            for (r, acc_row) in acc.iter().enumerate().take(rows - t * MR) {
                out[(t * MR + r) * n + col0..][..cols].copy_from_slice(&acc_row[..cols]);
            }
        }
    }
}

/// The register tile: `MR × NR` independent sums, one `k` step at a time.
#[inline(always)]
fn micro<const MR: usize, const NR: usize>(
    xt: &[f32],
    panel: &[f32],
    bias: &[f32; NR],
) -> [[f32; NR]; MR] {
    let mut acc = [*bias; MR];
    for (x, w) in xt.chunks_exact(MR).zip(panel.chunks_exact(NR)) {
        let x: &[f32; MR] = x.try_into().expect("MR wide");
        let w: &[f32; NR] = w.try_into().expect("NR wide");
        for r in 0..MR {
            for c in 0..NR {
                acc[r][c] = madd(acc[r][c], x[r], w[c]);
            }
        }
    }
    acc
}

/// Layer normalisation of each `gamma.len()`-wide row, in place:
/// `mean = (Σ x)/h`, `var = (Σ (x−mean)²)/h` (sums in index order),
/// `y = (x − mean) / sqrt(var + eps) · gamma + beta`.
pub(crate) fn layer_norm(x: &mut [f32], gamma: &[f32], beta: &[f32], eps: f32) {
    let h = gamma.len();
    let n = h as f32;
    for row in x.chunks_exact_mut(h) {
        let mut sum = 0f32;
        for v in row.iter() {
            sum += *v;
        }
        let mean = sum / n;
        let mut var = 0f32;
        for v in row.iter() {
            let d = *v - mean;
            var += d * d;
        }
        let denom = libm::sqrtf(var / n + eps);
        for ((v, g), b) in row.iter_mut().zip(gamma).zip(beta) {
            *v = (*v - mean) / denom * *g + *b;
        }
    }
}

/// GELU, erf form (`hidden_act = "gelu"`): `0.5·x·(1 + erf(x/√2))`, in place.
pub(crate) fn gelu(x: &mut [f32]) {
    for v in x {
        let t = *v;
        *v = 0.5 * t * (1.0 + libm::erff(t / std::f32::consts::SQRT_2));
    }
}

/// Scaled softmax of each `width`-wide row, in place:
/// `s = x / scale`, `p = exp(s − max s) / Σ exp(s − max s)` (sum in index order).
pub(crate) fn softmax_rows(x: &mut [f32], width: usize, scale: f32) {
    for row in x.chunks_exact_mut(width) {
        let mut max = f32::NEG_INFINITY;
        for v in row.iter_mut() {
            *v /= scale;
            max = max.max(*v);
        }
        let mut sum = 0f32;
        for v in row.iter_mut() {
            *v = libm::expf(*v - max);
            sum += *v;
        }
        for v in row.iter_mut() {
            *v /= sum;
        }
    }
}

/// Element-wise `a[i] += b[i]`.
pub(crate) fn add_assign(a: &mut [f32], b: &[f32]) {
    for (x, y) in a.iter_mut().zip(b) {
        *x += *y;
    }
}

/// Mean over rows (`rows × width`, sum in row order, divided by `rows`),
/// then L2 normalisation `v / max(‖v‖, 1e-12)` with `‖v‖² = Σ v²` in index
/// order — the sentence-transformers Pooling (mean) + Normalize modules for
/// one sequence, whose attention mask is all ones.
pub(crate) fn mean_pool_normalize(x: &[f32], rows: usize, width: usize) -> Vec<f32> {
    let mut sum = vec![0f32; width];
    for row in x.chunks_exact(width).take(rows) {
        add_assign(&mut sum, row);
    }
    let count = rows as f32;
    for v in &mut sum {
        *v /= count;
    }
    let mut sq = 0f32;
    for v in &sum {
        sq += *v * *v;
    }
    let norm = libm::sqrtf(sq).max(1e-12);
    for v in &mut sum {
        *v /= norm;
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The plain triple loop with the documented order.
    fn reference(x: &[f32], rows: usize, k: usize, n: usize, w: &[f32], b: &[f32]) -> Vec<f32> {
        let mut out = vec![0f32; rows * n];
        for r in 0..rows {
            for o in 0..n {
                let mut acc = b[o];
                for kk in 0..k {
                    acc += x[r * k + kk] * w[o * k + kk];
                }
                out[r * n + o] = acc;
            }
        }
        out
    }

    fn pseudo(seed: u32, len: usize) -> Vec<f32> {
        let mut s = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
        (0..len)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 17;
                s ^= s << 5;
                (s as f32 / u32::MAX as f32) * 2.0 - 1.0
            })
            .collect()
    }

    #[test]
    fn matmul_is_bit_exact_with_the_documented_order_for_ragged_shapes() {
        for (rows, k, n) in [
            (1, 1, 1),
            (3, 7, 5),
            (5, 33, 19),
            (9, 64, 40),
            (13, 384, 48),
        ] {
            let x = pseudo(1, rows * k);
            let w = pseudo(2, n * k);
            let b = pseudo(3, n);
            let want = reference(&x, rows, k, n, &w, &b);
            let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
            for isa in Isa::available() {
                let packed = Packed::for_isa(isa, n, k, Some(&b), |o, kk| w[o * k + kk]);
                let mut out = vec![f32::NAN; rows * n];
                matmul(&x, rows, &packed, &mut out);
                assert_eq!(bits(&out), bits(&want), "{isa:?} rows={rows} k={k} n={n}");
            }
        }
    }

    #[test]
    fn layer_norm_normalises() {
        let mut x = vec![1.0, 2.0, 3.0, 4.0];
        layer_norm(&mut x, &[1.0; 4], &[0.0; 4], 1e-12);
        let mean: f32 = x.iter().sum::<f32>() / 4.0;
        assert!(mean.abs() < 1e-6);
        assert!((x[3] - 1.341_640_8).abs() < 1e-5, "{x:?}");
    }

    #[test]
    fn gelu_and_softmax_values() {
        let mut g = vec![-1.0f32, 0.0, 1.0, 3.0];
        gelu(&mut g);
        let want = [-0.158_655_26f32, 0.0, 0.841_344_7, 2.995_95];
        for (a, b) in g.iter().zip(want) {
            assert!((a - b).abs() < 1e-5, "{g:?}");
        }
        let mut s = vec![1.0f32, 2.0, 3.0, 1000.0, 1000.0, 1000.0];
        softmax_rows(&mut s, 3, 1.0);
        assert!((s[2] - 0.665_240_9).abs() < 1e-6);
        assert!(s[3..].iter().all(|p| (p - 1.0 / 3.0).abs() < 1e-6));
    }

    #[test]
    fn pooling_is_a_unit_mean() {
        let v = mean_pool_normalize(&[2.0, 5.0, 4.0, 3.0], 2, 2);
        assert!((v[0] - 0.6).abs() < 1e-7 && (v[1] - 0.8).abs() < 1e-7);
    }
}
