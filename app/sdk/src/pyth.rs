//! Pyth price updates: the sponsored push-feed address of a feed, and real
//! `PriceUpdateV2` accounts (for the embedded bank: demo, backtest, localnet), and
//! price series from CSV files (`publish_time,price,conf`, USD).

use anchor_lang::prelude::Pubkey;
use anchor_lang::AccountSerialize;
use anyhow::{bail, Context, Result};
use pyth_solana_receiver_sdk::price_update::{PriceFeedMessage, PriceUpdateV2, VerificationLevel};
use solana_account::Account;

/// The shard Pyth's sponsored feeds use.
pub const SPONSORED_SHARD: u16 = 0;

/// Address of the push-feed `PriceUpdateV2` account Pyth keeps updated for
/// `feed_id` on `shard`: PDA `[shard (u16 LE), feed_id]` of the push oracle
/// program. Owned by the receiver program like any `PriceUpdateV2`.
pub fn push_feed_address(feed_id: &[u8; 32], shard: u16) -> Pubkey {
    Pubkey::find_program_address(
        &[&shard.to_le_bytes(), feed_id],
        &pyth_solana_receiver_sdk::PYTH_PUSH_ORACLE_ID,
    )
    .0
}

/// Parses a feed id in hex (with or without `0x`).
pub fn parse_feed_id(hex: &str) -> anyhow::Result<[u8; 32]> {
    let h = hex.trim().trim_start_matches("0x");
    if h.len() != 64 {
        anyhow::bail!("a feed id is 32 bytes (64 hex digits), got {} digits", h.len());
    }
    let mut out = [0u8; 32];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(&h[2 * i..2 * i + 2], 16).map_err(|_| anyhow::anyhow!("feed id is not hex: {hex}"))?;
    }
    Ok(out)
}

/// Hex of a feed id, `0x`-prefixed.
pub fn feed_id_hex(feed_id: &[u8; 32]) -> String {
    let mut s = String::from("0x");
    for b in feed_id {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// One price update.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PriceUpdate {
    /// Feed id.
    pub feed_id: [u8; 32],
    /// Price with `exponent`.
    pub price: i64,
    /// Confidence with `exponent`.
    pub conf: u64,
    /// Decimal exponent.
    pub exponent: i32,
    /// Publish time.
    pub publish_time: i64,
    /// Verification level.
    pub level: VerificationLevel,
}

impl PriceUpdate {
    /// A fully verified update with exponent −8.
    pub fn new(feed_id: [u8; 32], price: i64, conf: u64, publish_time: i64) -> Self {
        Self {
            feed_id,
            price,
            conf,
            exponent: -8,
            publish_time,
            level: VerificationLevel::Full,
        }
    }

    /// Account bytes: discriminator + borsh, padded to `PriceUpdateV2::LEN`.
    pub fn data(&self) -> Vec<u8> {
        let update = PriceUpdateV2 {
            write_authority: Pubkey::default(),
            verification_level: self.level,
            price_message: PriceFeedMessage {
                feed_id: self.feed_id,
                price: self.price,
                conf: self.conf,
                exponent: self.exponent,
                publish_time: self.publish_time,
                // saturating: a test may write any publish time (`localnet_setPrice`)
                prev_publish_time: self.publish_time.saturating_sub(1),
                ema_price: self.price,
                ema_conf: self.conf,
            },
            posted_slot: 0,
        };
        let mut data = Vec::with_capacity(PriceUpdateV2::LEN);
        update.try_serialize(&mut data).expect("serialize PriceUpdateV2");
        data.resize(PriceUpdateV2::LEN, 0);
        data
    }

    /// The account holding this update, as Pyth's push oracle keeps it for
    /// a sponsored feed: owned by the receiver program, `lamports` in it
    /// (rent exemption for [`PriceUpdateV2::LEN`] is
    /// `Rent::minimum_balance(PriceUpdateV2::LEN)`).
    pub fn account(&self, lamports: u64) -> Account {
        Account {
            lamports,
            data: self.data(),
            owner: pyth_solana_receiver_sdk::ID,
            executable: false,
            rent_epoch: 0,
        }
    }

    /// Decodes a `PriceUpdateV2` account's message (None if not one).
    pub fn read(data: &[u8]) -> Option<PriceFeedMessage> {
        use anchor_lang::AccountDeserialize;
        PriceUpdateV2::try_deserialize(&mut &data[..])
            .ok()
            .map(|u| u.price_message)
    }
}

// ---------------------------------------------------------------- price series (CSV)

/// One CSV row in Pyth units (exponent −8).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Row {
    /// Line number in the file (1-based, header is line 1).
    pub line: usize,
    /// Publish time.
    pub publish_time: i64,
    /// Price, 1e-8 units.
    pub price: i64,
    /// Confidence, 1e-8 units.
    pub conf: u64,
}

/// Parses `publish_time,price,conf` (any column order, named by the header).
/// Errors name the line: missing columns, unparsable values, times going backwards.
pub fn parse_csv(text: &str) -> Result<Vec<Row>> {
    let mut lines = text.lines().enumerate();
    let Some((_, header)) = lines.next() else {
        bail!("line 1: empty file (expected a header publish_time,price,conf)")
    };
    let cols: Vec<String> = header.split(',').map(|c| c.trim().to_lowercase()).collect();
    let find = |name: &str| cols.iter().position(|c| c == name);
    let (Some(t_i), Some(p_i), Some(c_i)) = (find("publish_time"), find("price"), find("conf")) else {
        bail!("line 1: header must name the columns publish_time, price and conf (got {header:?})");
    };
    let mut rows: Vec<Row> = Vec::new();
    for (i, line) in lines {
        let n = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        let f: Vec<&str> = line.split(',').map(str::trim).collect();
        let get = |k: usize, name: &str| {
            f.get(k)
                .copied()
                .filter(|s| !s.is_empty())
                .with_context(|| format!("line {n}: missing column {name}"))
        };
        let t: i64 = get(t_i, "publish_time")?
            .parse()
            .with_context(|| format!("line {n}: publish_time is not an integer unix time"))?;
        let p: f64 = get(p_i, "price")?
            .parse()
            .with_context(|| format!("line {n}: price is not a number"))?;
        let c: f64 = get(c_i, "conf")?
            .parse()
            .with_context(|| format!("line {n}: conf is not a number"))?;
        if !p.is_finite() || !c.is_finite() || c < 0.0 {
            bail!("line {n}: price and conf must be finite, conf not negative");
        }
        if let Some(prev) = rows.last() {
            if t < prev.publish_time {
                bail!(
                    "line {n}: publish_time {t} goes backwards (line {} had {})",
                    prev.line,
                    prev.publish_time
                );
            }
        }
        rows.push(Row {
            line: n,
            publish_time: t,
            price: usd_to_units(p),
            conf: usd_to_units(c) as u64,
        });
    }
    if rows.is_empty() {
        bail!("no rows after the header");
    }
    Ok(rows)
}

/// USD float → 1e-8 units, rounded to the nearest unit (CSV replays).
pub fn usd_to_units(x: f64) -> i64 {
    (x * 1e8).round() as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Any publish time makes an account (`localnet_setPrice` passes what a
    /// test asks for): `i64::MIN` used to overflow computing the previous one.
    #[test]
    fn any_publish_time_makes_an_account() {
        for t in [i64::MIN, -1, 0, i64::MAX] {
            let update = PriceUpdate::new([7; 32], 1, 0, t);
            let account = update.account(42);
            assert_eq!((account.lamports, account.owner), (42, pyth_solana_receiver_sdk::ID));
            let msg = PriceUpdate::read(&account.data).unwrap();
            assert_eq!((msg.publish_time, msg.prev_publish_time), (t, t.saturating_sub(1)));
        }
    }

    #[test]
    fn bad_csv_files_name_the_line() {
        let e = |t: &str| format!("{:#}", parse_csv(t).unwrap_err());
        assert!(e("publish_time,price\n1,1\n").contains("line 1"));
        assert!(e("publish_time,price,conf\n1,1,0\n2,abc,0\n").contains("line 3: price"));
        assert!(e("publish_time,price,conf\n5,1,0\n4,1,0\n").contains("line 3: publish_time 4 goes backwards"));
        assert!(e("publish_time,price,conf\n5,1\n").contains("line 2: missing column conf"));
        let rows = parse_csv("publish_time,price,conf\n1,0.99701310,0.00300586\n").unwrap();
        assert_eq!((rows[0].price, rows[0].conf), (99_701_310, 300_586));
    }
}
