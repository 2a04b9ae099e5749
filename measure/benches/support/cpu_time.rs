//! Per-call CPU time on one core, shared by the verification benchmarks
//! (`#[path]`-included: benches of two packages use it).
//!
//! The machine may be shared: the per-core figure is this thread's CPU time
//! (`/proc/thread-self/schedstat`), with wall time beside it.

use std::time::{Duration, Instant};

/// CPU time this thread has run, in ns, if available.
pub fn thread_cpu_ns() -> Option<u64> {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Seconds per call: CPU time of this thread (when known) and wall time.
pub struct PerCall {
    /// CPU seconds per call.
    pub cpu: Option<f64>,
    /// Wall seconds per call.
    pub wall: f64,
}

impl PerCall {
    /// The per-core figure: CPU time when known, else wall time.
    pub fn core(&self) -> f64 {
        self.cpu.unwrap_or(self.wall)
    }

    /// Calls per second on one core.
    pub fn per_second(&self) -> f64 {
        1.0 / self.core()
    }
}

/// Runs `f` repeatedly for about `budget`, after a 200 ms warm-up.
pub fn time_per_call(budget: Duration, mut f: impl FnMut()) -> PerCall {
    let warm = Instant::now();
    while warm.elapsed() < Duration::from_millis(200) {
        f();
    }
    let cpu0 = thread_cpu_ns();
    let start = Instant::now();
    let mut n: u64 = 0;
    while start.elapsed() < budget {
        for _ in 0..16 {
            f();
        }
        n += 16;
    }
    let wall = start.elapsed().as_secs_f64() / n as f64;
    let cpu = match (cpu0, thread_cpu_ns()) {
        (Some(a), Some(b)) => Some(b.saturating_sub(a) as f64 / 1e9 / n as f64),
        _ => None,
    };
    PerCall { cpu, wall }
}
