//! When a growing reply is written back while it streams. Each save rewrites the whole item,
//! and DynamoDB bills a write by the item's size: saving on a fixed clock costs in the square
//! of a reply's length. Saving when the reply has grown by half since the last save (or, for
//! a slow one, after a while) keeps the writes in proportion to its length, and still lets a
//! reload show a reply as it grows and a crash lose no more than a third of it.

use std::time::{Duration, Instant};

/// No save sooner than this after the turn started or the last save.
pub const FIRST_SAVE: Duration = Duration::from_secs(1);
/// A reply that grows slowly is saved at least this often (when it grew at all).
pub const LONGEST_WAIT: Duration = Duration::from_secs(5);

pub struct Saves {
    last: Instant,
    /// The reply's size (answer and thinking, in bytes) when it was last saved.
    saved: usize,
}

impl Saves {
    pub fn start(now: Instant) -> Self {
        Self {
            last: now,
            saved: 0,
        }
    }

    /// Whether a reply now `size` bytes long is to be saved; if so, counts it as saved.
    pub fn due(&mut self, now: Instant, size: usize) -> bool {
        let waited = now.saturating_duration_since(self.last);
        let grown = size.saturating_sub(self.saved);
        let due = grown > 0
            && waited >= FIRST_SAVE
            && (grown >= self.saved / 2 || waited >= LONGEST_WAIT);
        if due {
            self.last = now;
            self.saved = size;
        }
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sizes saved while a reply grows by `rate` bytes every 100 ms for `seconds`.
    fn saves(rate: usize, seconds: u64) -> Vec<usize> {
        let start = Instant::now();
        let mut saves = Saves::start(start);
        let mut saved = Vec::new();
        for tick in 1..=seconds * 10 {
            let size = rate * tick as usize;
            if saves.due(start + Duration::from_millis(100 * tick), size) {
                saved.push(size);
            }
        }
        saved
    }

    #[test]
    fn nothing_is_saved_in_the_first_second_or_without_growth() {
        let start = Instant::now();
        let mut saves = Saves::start(start);
        assert!(!saves.due(start + Duration::from_millis(900), 500));
        assert!(saves.due(start + FIRST_SAVE, 500));
        assert!(
            !saves.due(start + Duration::from_secs(30), 500),
            "no growth"
        );
    }

    #[test]
    fn a_fast_reply_is_saved_as_it_grows_by_half() {
        // 200 bytes a tenth of a second, 10 s: 20 KB, about 2,000 tokens.
        let saved = saves(200, 10);
        for pair in saved.windows(2) {
            assert!(pair[1] >= pair[0] * 3 / 2, "{saved:?}");
        }
        // A save every 500 ms would have written 20 times, 210 KB in all.
        assert!(saved.len() <= 8, "{saved:?}");
        assert!(saved.iter().sum::<usize>() < 60_000, "{saved:?}");
        // A crash loses at most a third of what was written, or the last few seconds.
        let last = *saved.last().unwrap();
        assert!(
            last >= 20_000 * 2 / 3 || 20_000 - last <= 200 * 50,
            "{saved:?}"
        );
    }

    #[test]
    fn a_slow_long_reply_is_still_saved_every_few_seconds() {
        // 20 bytes a tenth of a second for two minutes.
        let saved = saves(20, 120);
        let gaps: Vec<usize> = saved.windows(2).map(|p| p[1] - p[0]).collect();
        assert!(
            gaps.iter()
                .all(|g| *g <= 20 * 10 * LONGEST_WAIT.as_secs() as usize),
            "{saved:?}"
        );
        assert!(saved.len() >= 120 / LONGEST_WAIT.as_secs() as usize - 1);
    }
}
