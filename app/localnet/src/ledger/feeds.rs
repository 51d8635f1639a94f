//! The push-feed price accounts (`PriceUpdateV2`, owned by the Pyth
//! receiver, at Pyth's sponsored-feed addresses), and what writes them:
//!
//! - **live**: a price republished with the bank's current time on every
//!   clock second, as Pyth's sponsored feeds republish continuously — each
//!   market's feed starts live at a healthy price, so cover can be bought;
//! - **replay** (`--prices`): a CSV's rows, each written with its own publish
//!   time when the clock reaches it; between rows the feed holds the last
//!   row's price and confidence, republished with the current time (the CSV
//!   samples every few minutes, a live feed publishes every second). Before
//!   the first row the feed is live at the healthy price;
//! - **fixed** (`localnet_setPrice` with an explicit `publishTime`): written
//!   once and left alone, stale or not, until the next `localnet_setPrice`.

use coverage_sdk::pyth::{push_feed_address, PriceUpdate, Row, SPONSORED_SHARD};
use solana_pubkey::Pubkey;

/// A healthy stablecoin price: 1.00000000 USD, confidence 0.0001 (exponent −8).
pub const HEALTHY: (i64, u64) = (100_000_000, 10_000);

#[derive(Clone, Debug)]
enum Source {
    Live {
        price: i64,
        conf: u64,
        exponent: i32,
    },
    Replay {
        rows: Vec<Row>,
        next: usize,
        before: (i64, u64),
    },
    Fixed,
}

/// One feed.
#[derive(Clone, Debug)]
pub struct Feed {
    /// Pyth feed id.
    pub feed_id: [u8; 32],
    /// Its push-feed account.
    pub address: Pubkey,
    source: Source,
}

/// Every feed the ledger writes.
#[derive(Default)]
pub struct Feeds {
    feeds: Vec<Feed>,
}

impl Feeds {
    fn entry(&mut self, feed_id: [u8; 32]) -> &mut Feed {
        let i = match self.feeds.iter().position(|f| f.feed_id == feed_id) {
            Some(i) => i,
            None => {
                self.feeds.push(Feed {
                    feed_id,
                    address: push_feed_address(&feed_id, SPONSORED_SHARD),
                    source: Source::Fixed,
                });
                self.feeds.len() - 1
            }
        };
        &mut self.feeds[i]
    }

    /// Publishes `price`/`conf` (with `exponent`) live on `feed_id`; returns its account.
    pub fn set_live(&mut self, feed_id: [u8; 32], price: i64, conf: u64, exponent: i32) -> Pubkey {
        let f = self.entry(feed_id);
        f.source = Source::Live { price, conf, exponent };
        f.address
    }

    /// Leaves `feed_id` to whatever was written last; returns its account.
    pub fn set_fixed(&mut self, feed_id: [u8; 32]) -> Pubkey {
        let f = self.entry(feed_id);
        f.source = Source::Fixed;
        f.address
    }

    /// Replays `rows` on `feed_id` (healthy before the first row); returns its account.
    pub fn replay(&mut self, feed_id: [u8; 32], rows: Vec<Row>) -> Pubkey {
        let f = self.entry(feed_id);
        f.source = Source::Replay {
            rows,
            next: 0,
            before: HEALTHY,
        };
        f.address
    }

    /// What to write at ledger time `now`: every live and replayed feed, with
    /// any replay rows that came due since the last call consumed.
    pub fn updates(&mut self, now: i64) -> Vec<(Pubkey, PriceUpdate)> {
        let mut out = Vec::new();
        for f in &mut self.feeds {
            let update = match &mut f.source {
                Source::Fixed => continue,
                Source::Live { price, conf, exponent } => PriceUpdate {
                    exponent: *exponent,
                    ..PriceUpdate::new(f.feed_id, *price, *conf, now)
                },
                Source::Replay { rows, next, before } => {
                    let mut due = None;
                    while *next < rows.len() && rows[*next].publish_time <= now {
                        due = Some(rows[*next]);
                        *next += 1;
                    }
                    match (due, next.checked_sub(1).map(|i| rows[i])) {
                        (Some(row), _) => PriceUpdate::new(f.feed_id, row.price, row.conf, row.publish_time),
                        (None, Some(held)) => PriceUpdate::new(f.feed_id, held.price, held.conf, now),
                        (None, None) => PriceUpdate::new(f.feed_id, before.0, before.1, now),
                    }
                }
            };
            out.push((f.address, update));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(publish_time: i64, price: i64) -> Row {
        Row {
            line: 0,
            publish_time,
            price,
            conf: 7,
        }
    }

    #[test]
    fn a_replay_writes_each_row_at_its_time_and_holds_it_between_rows() {
        let id = [1u8; 32];
        let mut feeds = Feeds::default();
        feeds.replay(id, vec![row(100, 99), row(200, 90)]);
        let at = |f: &mut Feeds, t| {
            let u = f.updates(t)[0].1;
            (u.price, u.publish_time)
        };
        assert_eq!(at(&mut feeds, 50), (HEALTHY.0, 50));
        assert_eq!(at(&mut feeds, 130), (99, 100), "a row due is written with its own time");
        assert_eq!(at(&mut feeds, 131), (99, 131), "then held with the current time");
        assert_eq!(at(&mut feeds, 900), (90, 200));
        assert_eq!(at(&mut feeds, 901), (90, 901));
    }

    #[test]
    fn a_fixed_feed_is_left_alone() {
        let id = [2u8; 32];
        let mut feeds = Feeds::default();
        feeds.set_live(id, 5, 1, -8);
        assert_eq!(feeds.updates(10)[0].1.publish_time, 10);
        feeds.set_fixed(id);
        assert!(feeds.updates(11).is_empty());
    }
}
