//! Injected time.
//!
//! Protocol code asks a [`Clock`] for the time instead of reading the
//! system clock, so a simulation can run many nodes on one simulated clock
//! (each with its own skew) and replay a run exactly. Time is microseconds
//! since the Unix epoch; block headers use [`UnixMicros::as_millis`].

/// Microseconds since the Unix epoch.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default)]
pub struct UnixMicros(pub u64);

impl UnixMicros {
    /// Milliseconds since the Unix epoch (rounded down).
    pub fn as_millis(self) -> u64 {
        self.0 / 1000
    }

    /// This time plus `micros` (saturating).
    pub fn plus(self, micros: u64) -> UnixMicros {
        UnixMicros(self.0.saturating_add(micros))
    }

    /// Microseconds from `earlier` to `self` (zero if `earlier` is later).
    pub fn since(self, earlier: UnixMicros) -> u64 {
        self.0.saturating_sub(earlier.0)
    }
}

/// A source of the current time.
pub trait Clock {
    /// The current time as this node sees it.
    fn now(&self) -> UnixMicros;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates() {
        let t = UnixMicros(1_500_999);
        assert_eq!(t.as_millis(), 1_500);
        assert_eq!(t.plus(1).0, 1_501_000);
        assert_eq!(UnixMicros(u64::MAX).plus(5).0, u64::MAX);
        assert_eq!(t.since(UnixMicros(1_000_000)), 500_999);
        assert_eq!(UnixMicros(1).since(t), 0);
    }
}
