//! The trigger rule of PROTOCOL.md 3.4, exactly. The program's
//! `check_trigger`, the client's backtest and the reference model in the
//! property tests all run this one function.

use crate::math::{CoreResult, SafeMath};
use crate::price::UnitPrice;
use crate::{CoreError, BPS};

/// A market's trigger terms (immutable after creation). Prices in price units.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TriggerTerms {
    /// A streak opens when `price + conf < strike`.
    pub strike: u64,
    /// An open streak closes when `price >= recovery` (`recovery >= strike`).
    pub recovery: u64,
    /// Seconds a streak must last to trigger.
    pub duration: i64,
    /// An open streak is dropped when consecutive accepted observations are
    /// more than this many seconds apart.
    pub max_gap: i64,
    /// An observation older than this many seconds (against the clock) is stale.
    pub max_price_age: i64,
    /// Widest accepted confidence interval, in bps of the price.
    pub max_conf_bps: u64,
}

/// One oracle observation, in price units.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Observation {
    /// Price and confidence.
    pub price: UnitPrice,
    /// Oracle publish time (unix seconds).
    pub publish_time: i64,
}

/// What a market remembers between observations.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StreakState {
    /// Publish time of the last accepted observation (0: none yet).
    pub last_publish_time: i64,
    /// Whether a depeg streak is open.
    pub streak_open: bool,
    /// Publish time of the observation that opened the streak.
    pub streak_start: i64,
    /// Lowest `price + conf` seen in the open streak.
    pub streak_low: u64,
    /// Whether the market triggered in this epoch.
    pub triggered: bool,
    /// Publish time of the triggering observation.
    pub trigger_time: i64,
}

/// What one accepted observation did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ObserveOutcome {
    /// An open streak was dropped because of a gap over `max_gap` (rule 2).
    pub dropped: bool,
    /// A streak opened at this observation (rule 3).
    pub opened: bool,
    /// The open streak closed at this observation (rule 4).
    pub closed: bool,
    /// The market triggered at this observation (rule 5).
    pub triggered: bool,
}

impl TriggerTerms {
    /// The checks a price must pass before the pool takes on risk or lets
    /// capital go while the market is healthy (PROTOCOL.md 3.1, 3.2): a sale
    /// (`buy_cover`) and a redemption (`withdraw`). Fresh against the clock
    /// and no older than the market's last accepted observation
    /// (`StalePrice`: a buyer or a leaving staker cannot pick an older
    /// healthy price over a newer one the keepers already reported), within
    /// the confidence bound (`ConfidenceTooWide`), and the whole confidence
    /// interval at or above the strike: `price − conf ≥ strike`
    /// (`PriceBelowStrike`).
    pub fn check_healthy_price(&self, last_publish_time: i64, obs: &Observation, now: i64) -> CoreResult<()> {
        if now.saturating_sub(obs.publish_time) > self.max_price_age || obs.publish_time < last_publish_time {
            return Err(CoreError::StalePrice);
        }
        let conf_scaled = (obs.price.conf as u128).safe_mul(BPS as u128)?;
        let limit = (obs.price.price as u128).safe_mul(self.max_conf_bps as u128)?;
        if conf_scaled > limit {
            return Err(CoreError::ConfidenceTooWide);
        }
        if obs.price.price < obs.price.conf || obs.price.price - obs.price.conf < self.strike {
            return Err(CoreError::PriceBelowStrike);
        }
        Ok(())
    }

    /// Checks an observation against the terms and the clock: freshness,
    /// confidence, and (against `state`) strictly increasing publish time and
    /// an untriggered market. Rule 1 of 3.4.
    pub fn validate(&self, state: &StreakState, obs: &Observation, now: i64) -> CoreResult<()> {
        if state.triggered {
            return Err(CoreError::MarketAlreadyTriggered);
        }
        if now.saturating_sub(obs.publish_time) > self.max_price_age {
            return Err(CoreError::StalePrice);
        }
        let conf_scaled = (obs.price.conf as u128).safe_mul(BPS as u128)?;
        let limit = (obs.price.price as u128).safe_mul(self.max_conf_bps as u128)?;
        if conf_scaled > limit {
            return Err(CoreError::ConfidenceTooWide);
        }
        if state.last_publish_time != 0 && obs.publish_time <= state.last_publish_time {
            return Err(CoreError::PublishTimeNotIncreasing);
        }
        Ok(())
    }
}

/// Applies one observation (rules 1–5 of PROTOCOL.md 3.4). On error nothing
/// changes; on success `state` records the observation and its effects.
pub fn observe(
    terms: &TriggerTerms,
    state: &mut StreakState,
    obs: &Observation,
    now: i64,
) -> CoreResult<ObserveOutcome> {
    terms.validate(state, obs, now)?;
    let top = obs.price.price.safe_add(obs.price.conf)?;
    let mut out = ObserveOutcome::default();
    let mut next = *state;

    // rule 2: a gap over max_gap drops the open streak first
    if next.last_publish_time != 0
        && next.streak_open
        && obs.publish_time.safe_sub(next.last_publish_time)? > terms.max_gap
    {
        next.streak_open = false;
        out.dropped = true;
    }
    next.last_publish_time = obs.publish_time;

    if !next.streak_open {
        // rule 3: open when even the top of the interval is below the strike
        if top < terms.strike {
            next.streak_open = true;
            next.streak_start = obs.publish_time;
            next.streak_low = top;
            out.opened = true;
        }
    } else if obs.price.price >= terms.recovery {
        // rule 4: close at the recovery price (hysteresis)
        next.streak_open = false;
        out.closed = true;
    } else {
        next.streak_low = next.streak_low.min(top);
    }

    // rule 5: trigger once the streak has lasted `duration`
    if next.streak_open && obs.publish_time.safe_sub(next.streak_start)? >= terms.duration {
        next.triggered = true;
        next.trigger_time = obs.publish_time;
        out.triggered = true;
    }
    *state = next;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TERMS: TriggerTerms = TriggerTerms {
        strike: 95_000_000,
        recovery: 97_000_000,
        duration: 3_600,
        max_gap: 3_600,
        max_price_age: 60,
        max_conf_bps: 500,
    };

    fn obs(price: u64, conf: u64, t: i64) -> Observation {
        Observation {
            price: UnitPrice { price, conf },
            publish_time: t,
        }
    }

    #[test]
    fn depeg_lasting_duration_triggers() {
        let mut s = StreakState::default();
        assert!(
            observe(&TERMS, &mut s, &obs(94_000_000, 0, 1_000), 1_000)
                .unwrap()
                .opened
        );
        assert!(
            !observe(&TERMS, &mut s, &obs(90_000_000, 0, 2_000), 2_000)
                .unwrap()
                .triggered
        );
        let o = observe(&TERMS, &mut s, &obs(93_000_000, 0, 4_600), 4_600).unwrap();
        assert!(o.triggered);
        assert_eq!(
            (s.streak_start, s.trigger_time, s.streak_low),
            (1_000, 4_600, 90_000_000)
        );
        assert_eq!(
            observe(&TERMS, &mut s, &obs(93_000_000, 0, 4_700), 4_700),
            Err(CoreError::MarketAlreadyTriggered)
        );
    }

    #[test]
    fn hysteresis_gap_and_straddle() {
        let mut s = StreakState::default();
        // straddles the strike: no streak
        assert!(
            !observe(&TERMS, &mut s, &obs(94_000_000, 2_000_000, 100), 100)
                .unwrap()
                .opened
        );
        assert!(observe(&TERMS, &mut s, &obs(94_000_000, 0, 200), 200).unwrap().opened);
        // between strike and recovery: stays open
        let o = observe(&TERMS, &mut s, &obs(96_000_000, 0, 300), 300).unwrap();
        assert!(!o.closed && s.streak_open);
        // recovery closes
        assert!(observe(&TERMS, &mut s, &obs(97_000_000, 0, 400), 400).unwrap().closed);
        // reopen then a gap drops it and the same observation may reopen
        assert!(observe(&TERMS, &mut s, &obs(94_000_000, 0, 500), 500).unwrap().opened);
        let o = observe(&TERMS, &mut s, &obs(94_000_000, 0, 4_101), 4_101).unwrap();
        assert!(o.dropped && o.opened && !o.triggered);
        assert_eq!(s.streak_start, 4_101);
    }

    #[test]
    fn rejections_change_nothing() {
        let mut s = StreakState::default();
        observe(&TERMS, &mut s, &obs(94_000_000, 0, 1_000), 1_000).unwrap();
        let before = s;
        assert_eq!(
            observe(&TERMS, &mut s, &obs(94_000_000, 0, 1_000), 1_001),
            Err(CoreError::PublishTimeNotIncreasing)
        );
        assert_eq!(
            observe(&TERMS, &mut s, &obs(94_000_000, 0, 999), 1_001),
            Err(CoreError::PublishTimeNotIncreasing)
        );
        assert_eq!(
            observe(&TERMS, &mut s, &obs(94_000_000, 0, 1_100), 1_161),
            Err(CoreError::StalePrice)
        );
        assert_eq!(
            observe(&TERMS, &mut s, &obs(94_000_000, 4_700_001, 1_100), 1_100),
            Err(CoreError::ConfidenceTooWide)
        );
        assert_eq!(s, before);
        // exactly at the limits is accepted
        assert!(observe(&TERMS, &mut s, &obs(94_000_000, 4_700_000, 1_100), 1_160).is_ok());
    }
}
