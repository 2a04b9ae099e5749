//! The payload restart policy: exponential back-off, a bounded number of
//! consecutive failures, and a reset after a stable run.
//!
//! Any exit counts as a failure (the payload is a server that should never
//! exit), including exit status 0. After `max_restarts` failures in a row the
//! appliance powers off, so that the host (or cloud) sees a stopped VM rather
//! than one that silently does nothing.

use crate::config::RestartConfig;
use std::time::Duration;

/// What to do after the payload exited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Start it again after this delay.
    Restart {
        /// Delay before the restart.
        after: Duration,
        /// Which restart this is (1-based).
        attempt: u32,
    },
    /// Give up and power off.
    PowerOff,
}

/// Restart bookkeeping.
#[derive(Debug, Clone)]
pub struct RestartPolicy {
    cfg: RestartConfig,
    failures: u32,
}

impl RestartPolicy {
    /// A fresh policy.
    pub fn new(cfg: RestartConfig) -> Self {
        RestartPolicy { cfg, failures: 0 }
    }

    /// Consecutive failures counted so far.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// Records an exit after the payload ran for `uptime` and decides.
    pub fn on_exit(&mut self, uptime: Duration) -> Decision {
        if uptime >= self.cfg.stable_after() {
            self.failures = 0;
        }
        if self.failures >= self.cfg.max_restarts {
            return Decision::PowerOff;
        }
        let after = backoff(&self.cfg, self.failures);
        self.failures += 1;
        Decision::Restart {
            after,
            attempt: self.failures,
        }
    }
}

/// The delay before restart number `n + 1`: `initial * 2^n`, capped.
pub fn backoff(cfg: &RestartConfig, n: u32) -> Duration {
    let factor = 1u64.checked_shl(n).unwrap_or(u64::MAX);
    let ms = cfg
        .initial_backoff_ms
        .saturating_mul(factor)
        .min(cfg.max_backoff_ms);
    Duration::from_millis(ms)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn cfg() -> RestartConfig {
        RestartConfig {
            max_restarts: 3,
            initial_backoff_ms: 100,
            max_backoff_ms: 250,
            stable_after_secs: 10,
        }
    }

    #[test]
    fn backs_off_then_powers_off() {
        let mut p = RestartPolicy::new(cfg());
        let short = Duration::from_secs(1);
        assert_eq!(
            p.on_exit(short),
            Decision::Restart {
                after: Duration::from_millis(100),
                attempt: 1
            }
        );
        assert_eq!(
            p.on_exit(short),
            Decision::Restart {
                after: Duration::from_millis(200),
                attempt: 2
            }
        );
        assert_eq!(
            p.on_exit(short),
            Decision::Restart {
                after: Duration::from_millis(250),
                attempt: 3
            }
        );
        assert_eq!(p.on_exit(short), Decision::PowerOff);
    }

    #[test]
    fn stable_run_resets_the_count() {
        let mut p = RestartPolicy::new(cfg());
        p.on_exit(Duration::ZERO);
        p.on_exit(Duration::ZERO);
        assert_eq!(p.failures(), 2);
        assert_eq!(
            p.on_exit(Duration::from_secs(10)),
            Decision::Restart {
                after: Duration::from_millis(100),
                attempt: 1
            }
        );
    }

    #[test]
    fn zero_restarts_powers_off_at_once() {
        let mut p = RestartPolicy::new(RestartConfig {
            max_restarts: 0,
            ..cfg()
        });
        assert_eq!(p.on_exit(Duration::ZERO), Decision::PowerOff);
    }

    proptest! {
        #[test]
        fn backoff_is_bounded_and_monotonic(init in 0u64..10_000, max in 0u64..1_000_000, n in 0u32..200) {
            let c = RestartConfig { initial_backoff_ms: init.min(max), max_backoff_ms: max, ..cfg() };
            let a = backoff(&c, n);
            let b = backoff(&c, n.saturating_add(1));
            prop_assert!(a <= b);
            prop_assert!(b <= Duration::from_millis(max));
        }
    }
}
