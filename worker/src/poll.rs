//! The polling loop the runner and the watchtower share: read the chain
//! in rounds, rest when caught up, back off when the node is unreachable.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The longest wait between retries while the node cannot be read.
pub const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Calls `step` until `stop` is set (or `until` passes). `step` returns
/// `Ok(true)` when it caught up with the head (the loop then waits
/// `interval`), `Ok(false)` when there is more to read (it runs again at
/// once), and `Err` when the chain could not be read (the loop waits, from
/// `interval` doubling up to [`MAX_BACKOFF`], and logs why). Any success
/// resets the back-off.
pub fn poll(
    stop: &AtomicBool,
    until: Option<Instant>,
    interval: Duration,
    mut step: impl FnMut() -> Result<bool, String>,
    mut sleep: impl FnMut(Duration),
) {
    let mut backoff = interval;
    while !stop.load(Ordering::Relaxed) && until.is_none_or(|u| Instant::now() < u) {
        match step() {
            Ok(caught_up) => {
                backoff = interval;
                if caught_up {
                    sleep(interval);
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, retry_in = ?backoff, "cannot read the chain");
                sleep(backoff);
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rests_when_caught_up_backs_off_on_errors_and_resets_after_a_success() {
        let stop = AtomicBool::new(false);
        let ms = Duration::from_millis;
        // err, err, err, more, err, caught up, then stop.
        let script: Vec<Result<bool, String>> = vec![
            Err("down".into()),
            Err("down".into()),
            Err("down".into()),
            Ok(false),
            Err("down".into()),
            Ok(true),
        ];
        let mut steps = script.into_iter();
        let mut slept = Vec::new();
        poll(
            &stop,
            None,
            ms(100),
            || match steps.next() {
                Some(r) => r,
                None => {
                    stop.store(true, Ordering::Relaxed);
                    Ok(false)
                }
            },
            |d| slept.push(d),
        );
        assert_eq!(slept, vec![ms(100), ms(200), ms(400), ms(100), ms(100)]);
    }

    #[test]
    fn the_back_off_is_capped_and_a_deadline_ends_the_loop() {
        let stop = AtomicBool::new(false);
        let mut slept = Vec::new();
        let until = Instant::now() + Duration::from_millis(50);
        poll(
            &stop,
            Some(until),
            Duration::from_secs(2),
            || Err("down".into()),
            |d| {
                slept.push(d);
                std::thread::sleep(Duration::from_millis(20));
            },
        );
        assert!(slept.len() >= 2, "{slept:?}");
        assert_eq!(slept[..2], [Duration::from_secs(2), Duration::from_secs(4)]);
        assert!(slept.iter().all(|d| *d <= MAX_BACKOFF));
        assert!(Instant::now() >= until);
    }
}
