//! The simulated clock: one global time in microseconds, seen by each node
//! through its own offset (skew) and rate error (drift).

use aether_chain_api::{Clock, UnixMicros};

/// Unix time (µs) at simulated time zero.
pub const SIM_EPOCH_MICROS: u64 = 1_700_000_000_000_000;

/// A node's view of the simulated time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NodeClock {
    /// Offset from the true time, µs (positive = ahead).
    pub skew_us: i64,
    /// Rate error in parts per million (positive = runs fast).
    pub drift_ppm: i64,
}

impl NodeClock {
    /// What this node's clock reads at simulated time `now_us`.
    pub fn read(&self, now_us: u64) -> UnixMicros {
        let drifted = now_us as i128 + now_us as i128 * self.drift_ppm as i128 / 1_000_000;
        let local = SIM_EPOCH_MICROS as i128 + drifted + self.skew_us as i128;
        UnixMicros(local.clamp(0, u64::MAX as i128) as u64)
    }

    /// How long (true µs) a local timer of `local_us` takes to fire.
    pub fn timer_duration(&self, local_us: u64) -> u64 {
        let scaled = local_us as i128 * 1_000_000 / (1_000_000 + self.drift_ppm as i128).max(1);
        scaled.clamp(1, u64::MAX as i128) as u64
    }
}

/// A [`Clock`] for one node at one instant of a simulation.
#[derive(Clone, Copy, Debug)]
pub struct SimClock {
    /// The node's clock.
    pub clock: NodeClock,
    /// Simulated time, µs.
    pub now_us: u64,
}

impl Clock for SimClock {
    fn now(&self) -> UnixMicros {
        self.clock.read(self.now_us)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skew_and_drift() {
        let exact = NodeClock::default();
        assert_eq!(exact.read(5).0, SIM_EPOCH_MICROS + 5);
        let ahead = NodeClock {
            skew_us: 1_000,
            drift_ppm: 0,
        };
        assert_eq!(ahead.read(0).0, SIM_EPOCH_MICROS + 1_000);
        let fast = NodeClock {
            skew_us: 0,
            drift_ppm: 100_000,
        };
        assert_eq!(fast.read(1_000_000).0, SIM_EPOCH_MICROS + 1_100_000);
        // A fast clock's timer fires early in true time.
        assert!(fast.timer_duration(1_100_000) <= 1_000_000);
        assert_eq!(exact.timer_duration(7), 7);
        assert_eq!(
            SimClock {
                clock: ahead,
                now_us: 0
            }
            .now()
            .0,
            SIM_EPOCH_MICROS + 1_000
        );
    }
}
