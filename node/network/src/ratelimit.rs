//! Per-connection admission: a token bucket on frames and on bytes, and a
//! misbehaviour score.
//!
//! Every frame a peer sends takes one frame token and its length in byte
//! tokens; tokens refill at the configured rates up to a burst. A frame
//! that finds the bucket empty is **dropped undecoded** (rate-limited) and
//! adds [`Offence::Flood`]'s weight to the peer's score; an undecodable
//! frame, a forged shred, an unsolicited response or a consensus message
//! that claims another sender adds its own weight. Scores decay by the
//! configured amount per second; a peer whose score reaches the limit is
//! **disconnected and banned** for a while (see [`crate::config`]). Pure:
//! time is passed in.

use std::time::{Duration, Instant};

/// The limits of one peer.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RateLimits {
    /// Frames per second (sustained).
    pub frames_per_sec: f64,
    /// Frames in a burst.
    pub frame_burst: f64,
    /// Bytes per second (sustained).
    pub bytes_per_sec: f64,
    /// Bytes in a burst.
    pub byte_burst: f64,
    /// Score at which the peer is dropped.
    pub max_score: f64,
    /// Score forgiven per second.
    pub score_decay_per_sec: f64,
    /// How long a dropped peer stays banned.
    pub ban: Duration,
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits {
            frames_per_sec: 50_000.0,
            frame_burst: 100_000.0,
            bytes_per_sec: 256.0 * 1024.0 * 1024.0,
            byte_burst: 512.0 * 1024.0 * 1024.0,
            max_score: 1_000.0,
            score_decay_per_sec: 10.0,
            ban: Duration::from_secs(60),
        }
    }
}

/// Kinds of misbehaviour and their weights.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Offence {
    /// A frame over the rate.
    Flood,
    /// A frame whose body does not decode.
    Undecodable,
    /// A shred with a bad proof or signature, or otherwise invalid.
    BadShred,
    /// A response nobody asked for.
    Unsolicited,
    /// A message a peer may not send (a consensus message naming another
    /// sender, anything but sync from a read-only full node).
    NotAllowed,
}

impl Offence {
    /// The score an offence adds.
    pub fn weight(self) -> f64 {
        match self {
            Offence::Flood => 1.0,
            Offence::Undecodable => 50.0,
            Offence::BadShred => 20.0,
            Offence::Unsolicited => 10.0,
            Offence::NotAllowed => 20.0,
        }
    }
}

/// What to do with a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    /// Process it.
    Admit,
    /// Drop it (over the rate).
    Drop,
    /// Drop the peer.
    Disconnect,
}

/// One peer's buckets and score.
#[derive(Clone, Debug)]
pub struct PeerLimiter {
    limits: RateLimits,
    frames: f64,
    bytes: f64,
    score: f64,
    last: Instant,
}

impl PeerLimiter {
    /// Full buckets, a clean score.
    pub fn new(limits: RateLimits, now: Instant) -> Self {
        PeerLimiter {
            limits,
            frames: limits.frame_burst,
            bytes: limits.byte_burst,
            score: 0.0,
            last: now,
        }
    }

    fn refill(&mut self, now: Instant) {
        let dt = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now.max(self.last);
        let l = &self.limits;
        self.frames = (self.frames + dt * l.frames_per_sec).min(l.frame_burst);
        self.bytes = (self.bytes + dt * l.bytes_per_sec).min(l.byte_burst);
        self.score = (self.score - dt * l.score_decay_per_sec).max(0.0);
    }

    /// Admits (or not) a frame of `len` bytes arriving at `now`.
    pub fn admit(&mut self, len: usize, now: Instant) -> Admission {
        self.refill(now);
        if self.frames >= 1.0 && self.bytes >= len as f64 {
            self.frames -= 1.0;
            self.bytes -= len as f64;
            return Admission::Admit;
        }
        self.offend(Offence::Flood, now)
    }

    /// Records an offence; `Disconnect` once the score reaches the limit.
    pub fn offend(&mut self, offence: Offence, now: Instant) -> Admission {
        self.refill(now);
        self.score += offence.weight();
        if self.score >= self.limits.max_score {
            Admission::Disconnect
        } else {
            Admission::Drop
        }
    }

    /// The current score.
    pub fn score(&self) -> f64 {
        self.score
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> RateLimits {
        RateLimits {
            frames_per_sec: 10.0,
            frame_burst: 5.0,
            bytes_per_sec: 1000.0,
            byte_burst: 1000.0,
            max_score: 20.0,
            score_decay_per_sec: 1.0,
            ban: Duration::from_secs(1),
        }
    }

    #[test]
    fn bursts_then_rate() {
        let t0 = Instant::now();
        let mut p = PeerLimiter::new(limits(), t0);
        for _ in 0..5 {
            assert_eq!(p.admit(10, t0), Admission::Admit);
        }
        assert_eq!(p.admit(10, t0), Admission::Drop);
        // 100 ms later one frame token is back.
        let t1 = t0 + Duration::from_millis(100);
        assert_eq!(p.admit(10, t1), Admission::Admit);
        assert_eq!(p.admit(10, t1), Admission::Drop);
    }

    #[test]
    fn bytes_are_limited_too() {
        let t0 = Instant::now();
        let mut p = PeerLimiter::new(limits(), t0);
        assert_eq!(p.admit(900, t0), Admission::Admit);
        assert_eq!(p.admit(200, t0), Admission::Drop);
    }

    #[test]
    fn a_flood_ends_in_a_disconnect_and_scores_decay() {
        let t0 = Instant::now();
        let mut p = PeerLimiter::new(limits(), t0);
        let mut verdicts = Vec::new();
        for _ in 0..30 {
            verdicts.push(p.admit(1, t0));
        }
        assert_eq!(verdicts[..5], [Admission::Admit; 5]);
        assert!(verdicts[5..24].iter().all(|v| *v == Admission::Drop));
        assert_eq!(verdicts[24], Admission::Disconnect);
        let mut q = PeerLimiter::new(limits(), t0);
        assert_eq!(q.offend(Offence::Unsolicited, t0), Admission::Drop);
        assert!(q.score() >= 10.0);
        q.admit(1, t0 + Duration::from_secs(20));
        assert_eq!(q.score(), 0.0);
        let mut r = PeerLimiter::new(limits(), t0);
        assert_eq!(r.offend(Offence::Undecodable, t0), Admission::Disconnect);
    }
}
