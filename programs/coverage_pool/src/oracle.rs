//! Reading a Pyth `PriceUpdateV2` account, with every check of PROTOCOL.md
//! 3.4 that does not need the market's streak state. Each failure has its own
//! error; nothing here writes anything.

use anchor_lang::prelude::*;
use coverage_core::price::from_oracle;
use coverage_core::trigger::Observation;
use pyth_solana_receiver_sdk::price_update::{PriceUpdateV2, VerificationLevel};

use crate::error::{CoreResultExt, ErrorCode};

/// Reads an observation of feed `feed_id` from a price update account:
/// owner is the Pyth receiver program (`OracleWrongOwner`), the data is a
/// `PriceUpdateV2` (`OracleInvalidAccount`), fully verified
/// (`OracleNotFullyVerified`), of the market's feed (`OracleWrongFeed`), with
/// a positive price (`NonPositivePrice`) exactly representable in price units
/// (`UnsupportedPriceExponent`, `PriceNotRepresentable`). Freshness,
/// confidence and ordering are the trigger rule's (core) checks.
///
/// Works for updates posted by keepers through the receiver program and for
/// the sponsored push-feed accounts Pyth keeps updated on mainnet: both are
/// `PriceUpdateV2` accounts owned by the receiver program.
pub fn read_observation(price_update: &AccountInfo, feed_id: &[u8; 32]) -> Result<Observation> {
    require_keys_eq!(
        *price_update.owner,
        pyth_solana_receiver_sdk::ID,
        ErrorCode::OracleWrongOwner
    );
    let data = price_update.try_borrow_data()?;
    let update = PriceUpdateV2::try_deserialize(&mut &data[..]).map_err(|_| error!(ErrorCode::OracleInvalidAccount))?;
    require!(
        update.verification_level == VerificationLevel::Full,
        ErrorCode::OracleNotFullyVerified
    );
    let msg = &update.price_message;
    require!(msg.feed_id == *feed_id, ErrorCode::OracleWrongFeed);
    let price = from_oracle(msg.price, msg.conf, msg.exponent).or_named()?;
    Ok(Observation {
        price,
        publish_time: msg.publish_time,
    })
}
