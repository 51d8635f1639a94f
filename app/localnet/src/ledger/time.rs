//! Ledger time: the bank's unix clock follows wall time `speed` times
//! faster (plus manual advances), and the slot a new block takes follows the
//! ledger time at a cluster's 400 ms per slot.

use std::time::{Duration, Instant};

/// A cluster's slot duration.
pub const SLOT_MS: i64 = 400;

/// The latest time the clock may show: 9999-12-31 23:59:59 UTC (the test
/// controls refuse to move it further; its milliseconds fit an `i64` with
/// room to spare).
pub const MAX_UNIX: i64 = 253_402_300_799;

/// How often the bank's clock and live price feeds are refreshed (and a
/// block is closed if it holds transactions and is at least [`SLOT_MS`] old).
pub const TICK: Duration = Duration::from_millis(100);

/// Wall time → ledger time.
#[derive(Clone, Debug)]
pub struct LedgerTime {
    /// Ledger milliseconds at `base_wall` (or now, while paused).
    base_ms: i64,
    /// When the clock started running (None: paused, e.g. while the
    /// deployment is applied in the past).
    base_wall: Option<Instant>,
    /// Ledger seconds per wall second.
    speed: f64,
    /// A slot and the ledger milliseconds it stands for.
    slot_base: (u64, i64),
}

impl LedgerTime {
    /// A paused clock at `unix` whose slot is `slot`.
    pub fn paused(unix: i64, slot: u64, speed: f64) -> Self {
        Self {
            base_ms: unix.saturating_mul(1000),
            base_wall: None,
            speed,
            slot_base: (slot, unix.saturating_mul(1000)),
        }
    }

    /// Ledger milliseconds now.
    pub fn now_ms(&self) -> i64 {
        match self.base_wall {
            None => self.base_ms,
            // `as` saturates a float; the sum too
            Some(w) => self
                .base_ms
                .saturating_add((w.elapsed().as_secs_f64() * 1000.0 * self.speed) as i64),
        }
    }

    /// The unix time the bank's clock shows now.
    pub fn unix(&self) -> i64 {
        self.now_ms().div_euclid(1000)
    }

    /// Jumps to `unix` (forward only) and keeps the clock's running state.
    pub fn set(&mut self, unix: i64) {
        let now = self.now_ms();
        self.base_ms = unix.saturating_mul(1000).max(now);
        if self.base_wall.is_some() {
            self.base_wall = Some(Instant::now());
        }
    }

    /// Moves the clock forward by `secs`.
    pub fn advance(&mut self, secs: i64) {
        self.set(self.unix().saturating_add(secs));
    }

    /// Starts the clock running from its current time.
    pub fn run(&mut self) {
        self.base_ms = self.now_ms();
        self.base_wall = Some(Instant::now());
    }

    /// Ledger seconds per wall second.
    pub fn speed(&self) -> f64 {
        self.speed
    }

    /// The slot the ledger time stands for.
    pub fn slot(&self) -> u64 {
        let (slot, ms) = self.slot_base;
        slot.saturating_add((self.now_ms().saturating_sub(ms).max(0) / SLOT_MS) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_paused_clock_moves_only_when_told() {
        let mut t = LedgerTime::paused(1_000, 5, 60.0);
        assert_eq!((t.unix(), t.slot()), (1_000, 5));
        t.advance(4);
        assert_eq!((t.unix(), t.slot()), (1_004, 15));
        t.set(900); // never backwards
        assert_eq!(t.unix(), 1_004);
    }

    #[test]
    fn a_running_clock_runs_speed_times_faster() {
        let mut t = LedgerTime::paused(1_000, 5, 1000.0);
        t.run();
        std::thread::sleep(Duration::from_millis(20));
        // 20 ms of wall time is at least 20 s of ledger time
        assert!(t.unix() >= 1_020, "{}", t.unix());
        assert!(t.slot() >= 5 + 50);
    }
}
