//! Config-driven set-up (`migrations/*.toml`): a pool and its markets,
//! described once, applied by `cover migrate apply` to any cluster, and used
//! by `cover demo` to build its pool on the embedded bank.

use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use anyhow::{bail, Context, Result};
use coverage_pool::instructions::{CreateMarketArgs, InitializePoolArgs};
use coverage_pool::state::{PayoutShape, Pool, PricingCurve};
use serde::Deserialize;

use crate::ix::{self, PoolKeys};
use crate::pda;
use crate::pyth::parse_feed_id;
use crate::transport::{SendMode, Transport};

/// Known Pyth feed ids (mainnet), by name.
pub const FEEDS: [(&str, &str); 2] = [
    (
        "USDC/USD",
        "0xeaa020c61cc479712813461ce153894a96a6c00b21ed0cfc2798d1f9a9e9c94a",
    ),
    (
        "USDT/USD",
        "0x2b89b9dc8fdf9f34709a5b106b472f0f39bb6ca9ce04b0fd7f2e971688e2e53b",
    ),
];

/// A whole deployment.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deployment {
    /// The pool.
    pub pool: PoolConfig,
    /// Its markets, in index order.
    #[serde(default, rename = "market")]
    pub markets: Vec<MarketConfig>,
}

/// A tranche.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrancheConfig {
    /// Display name.
    pub name: String,
    /// Premium weight, bps.
    pub weight_bps: u16,
}

/// The pool.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoolConfig {
    /// Creator-chosen id.
    pub pool_id: u64,
    /// Collateral mint (omit for the demo, which creates one).
    pub collateral_mint: Option<String>,
    /// Treasury token account (omit for the demo).
    pub treasury: Option<String>,
    /// Authority (default: the signer).
    pub authority: Option<String>,
    /// Tranches, junior first.
    pub tranches: Vec<TrancheConfig>,
    /// Staker cooldown, seconds.
    pub cooldown_secs: u32,
    /// Withdraw window, seconds.
    pub withdraw_window_secs: u32,
    /// Max leverage, bps.
    pub max_leverage_bps: u32,
    /// Protocol fee, bps.
    pub protocol_fee_bps: u16,
}

impl PoolConfig {
    /// The governance delay (docs/PROTOCOL.md 3.6: cooldown + withdraw
    /// window + 1 day): also the seconds between a market's creation and its
    /// first sale on this pool (`sales_open_at`).
    pub fn governance_delay(&self) -> i64 {
        coverage_core::staking::WithdrawalTiming {
            cooldown: i64::from(self.cooldown_secs),
            withdraw_window: i64::from(self.withdraw_window_secs),
        }
        .governance_delay()
        .expect("u32 durations cannot overflow")
    }
}

/// Payout shape in a config.
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub enum PayoutConfig {
    /// `"binary"`.
    Named(String),
    /// `{ linear_floor = 0.80 }`.
    Linear {
        /// Floor price, USD.
        linear_floor: f64,
    },
}

/// Pricing curve in a config.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CurveConfig {
    /// Base annual rate, bps.
    pub base_bps: u32,
    /// Slope below the kink, bps.
    pub slope_below_kink_bps: u32,
    /// Slope above the kink, bps.
    pub slope_above_kink_bps: u32,
    /// Kink utilization, bps.
    pub kink_bps: u32,
}

/// A market.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarketConfig {
    /// Display name.
    pub name: String,
    /// A known feed name (`USDC/USD`) or a feed id in hex.
    pub feed: String,
    /// Strike, USD.
    pub strike: f64,
    /// Recovery price, USD.
    pub recovery: f64,
    /// Trigger duration, seconds.
    pub duration_secs: u32,
    /// Max gap, seconds.
    pub max_gap_secs: u32,
    /// Max price age, seconds.
    pub max_price_age_secs: u32,
    /// Max confidence, bps.
    pub max_conf_bps: u16,
    /// Payout shape.
    pub payout: PayoutConfig,
    /// Pricing curve.
    pub curve: CurveConfig,
    /// Capacity allocation, bps.
    pub allocation_bps: u32,
    /// Activation delay, seconds.
    pub activation_delay_secs: u32,
}

/// A feed id from a known name (`USDC/USD`, see [`FEEDS`]) or from hex.
pub fn feed_id(feed: &str) -> Result<[u8; 32]> {
    let hex = FEEDS.iter().find(|(n, _)| *n == feed).map_or(feed, |(_, h)| *h);
    parse_feed_id(hex).with_context(|| {
        let names: Vec<&str> = FEEDS.iter().map(|(n, _)| *n).collect();
        format!("feed {feed:?}: a feed id in hex or a known name ({})", names.join(", "))
    })
}

/// USD → price units (1e-8), rounded to the nearest unit.
pub fn usd(x: f64) -> Result<u64> {
    if !(x.is_finite() && x > 0.0 && x < 1e10) {
        bail!("price {x} is not a positive USD amount");
    }
    Ok((x * 1e8).round() as u64)
}

impl Deployment {
    /// Parses a TOML deployment.
    pub fn parse(text: &str) -> Result<Self> {
        toml::from_str(text).context("parsing the deployment TOML")
    }

    /// `initialize_pool` arguments.
    pub fn pool_args(&self, authority: Pubkey) -> InitializePoolArgs {
        let p = &self.pool;
        InitializePoolArgs {
            pool_id: p.pool_id,
            authority,
            tranche_weights_bps: p.tranches.iter().map(|t| t.weight_bps).collect(),
            cooldown: p.cooldown_secs,
            withdraw_window: p.withdraw_window_secs,
            max_leverage_bps: p.max_leverage_bps,
            protocol_fee_bps: p.protocol_fee_bps,
        }
    }
}

impl MarketConfig {
    /// The feed id this market observes.
    pub fn feed_id(&self) -> Result<[u8; 32]> {
        feed_id(&self.feed).with_context(|| format!("market {}", self.name))
    }

    /// `create_market` arguments.
    pub fn args(&self) -> Result<CreateMarketArgs> {
        let payout = match &self.payout {
            PayoutConfig::Named(n) if n == "binary" => PayoutShape::Binary,
            PayoutConfig::Named(n) => bail!(
                "market {}: unknown payout {n:?} (binary, or {{ linear_floor = P }})",
                self.name
            ),
            PayoutConfig::Linear { linear_floor } => PayoutShape::Linear {
                floor_price: usd(*linear_floor)?,
            },
        };
        Ok(CreateMarketArgs {
            feed_id: self.feed_id()?,
            strike: usd(self.strike)?,
            recovery: usd(self.recovery)?,
            duration: self.duration_secs,
            max_gap: self.max_gap_secs,
            max_price_age: self.max_price_age_secs,
            max_conf_bps: self.max_conf_bps,
            payout,
            curve: PricingCurve {
                base_rate_bps: self.curve.base_bps,
                slope_below_kink_bps: self.curve.slope_below_kink_bps,
                slope_above_kink_bps: self.curve.slope_above_kink_bps,
                kink_utilization_bps: self.curve.kink_bps,
            },
            allocation_bps: self.allocation_bps,
            activation_delay: self.activation_delay_secs,
        })
    }
}

/// One planned transaction.
pub struct Step {
    /// What it does.
    pub description: String,
    /// Its instructions.
    pub instructions: Vec<Instruction>,
}

/// Plans what is missing on the cluster: the pool (with its tranches) if it
/// does not exist, then every market past the pool's market count.
pub async fn plan<T: Transport>(
    t: &mut T,
    d: &Deployment,
    collateral_mint: Pubkey,
    treasury: Pubkey,
    token_program: Pubkey,
    authority: Pubkey,
) -> Result<(PoolKeys, Vec<Step>)> {
    let creator = t.payer();
    let pool = pda::pool(&creator, d.pool.pool_id).0;
    let keys = PoolKeys {
        pool,
        collateral_mint,
        token_program,
    };
    let mut steps = Vec::new();
    let existing = match t.account(&pool).await? {
        Some(acc) => Some(crate::decode::<Pool>(&acc.data)?),
        None => None,
    };
    let market_count = match &existing {
        Some(p) => {
            if p.collateral_mint != collateral_mint {
                bail!(
                    "pool {pool} exists with another collateral mint ({})",
                    p.collateral_mint
                );
            }
            p.market_count
        }
        None => {
            let mut ixs = vec![ix::initialize_pool(
                &creator,
                &collateral_mint,
                &treasury,
                &token_program,
                d.pool_args(authority),
            )];
            for t in 0..d.pool.tranches.len() as u8 {
                ixs.push(ix::initialize_tranche(&creator, &keys, t));
            }
            steps.push(Step {
                description: format!("initialize_pool {pool} with {} tranches", d.pool.tranches.len()),
                instructions: ixs,
            });
            0
        }
    };
    for (i, m) in d.markets.iter().enumerate().skip(market_count as usize) {
        let index = i as u32;
        steps.push(Step {
            description: format!(
                "create_market #{index} {:?} ({}) at {}",
                m.name,
                m.feed,
                pda::market(&pool, index).0
            ),
            instructions: vec![ix::create_market(&authority, &creator, &pool, index, m.args()?)],
        });
    }
    Ok((keys, steps))
}

/// Applies a plan; `authority` signs market creation (it must be a keypair
/// here; a multisig authority sends the same instructions through its
/// multisig instead).
pub async fn apply<T: Transport>(
    t: &mut T,
    steps: &[Step],
    authority: Option<&solana_keypair::Keypair>,
    mode: SendMode,
) -> Result<Vec<String>> {
    let mut sigs = Vec::new();
    for s in steps {
        let signers: Vec<&solana_keypair::Keypair> = authority.into_iter().collect();
        let needs_authority = s.description.starts_with("create_market");
        let sig = t
            .send(&s.instructions, if needs_authority { &signers } else { &[] }, mode)
            .await
            .with_context(|| format!("step failed: {}", s.description))?;
        sigs.push(sig);
    }
    Ok(sigs)
}
