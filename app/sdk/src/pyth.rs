//! Pyth price updates: the sponsored push-feed address of a feed, and real
//! `PriceUpdateV2` account bytes (for the embedded bank: demo, backtest).

use anchor_lang::prelude::Pubkey;
use anchor_lang::AccountSerialize;
use pyth_solana_receiver_sdk::price_update::{PriceFeedMessage, PriceUpdateV2, VerificationLevel};

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
                prev_publish_time: self.publish_time - 1,
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

    /// Decodes a `PriceUpdateV2` account's message (None if not one).
    pub fn read(data: &[u8]) -> Option<PriceFeedMessage> {
        use anchor_lang::AccountDeserialize;
        PriceUpdateV2::try_deserialize(&mut &data[..])
            .ok()
            .map(|u| u.price_message)
    }
}

/// USD float → 1e-8 units, rounded to the nearest unit (CSV replays).
pub fn usd_to_units(x: f64) -> i64 {
    (x * 1e8).round() as i64
}
