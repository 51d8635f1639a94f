//! Pure core of the coverage pool: every money rule and state rule of
//! `PROTOCOL.md`, as plain Rust over plain integers.
//!
//! No Solana types, no clock calls, no floats. The Anchor program loads its
//! accounts, calls one function here, and writes the result back; the client
//! SDK and the property tests call the very same functions, so the program,
//! the client quotes and the backtests cannot disagree.
//!
//! Rounding: every conversion rounds in the pool's favour (deposits mint
//! fewer shares, redemptions pay fewer assets, premiums round up). Functions
//! are named by direction (`mul_div_floor`, `mul_div_ceil`).
#![forbid(unsafe_code)]
#![no_std]

extern crate alloc;

pub mod book;
pub mod error;
pub mod math;
pub mod model;
pub mod policy;
pub mod price;
pub mod pricing;
pub mod settlement;
pub mod shares;
pub mod staking;
pub mod streaming;
pub mod trigger;

pub use error::CoreError;

/// Basis points in one whole (100 %).
pub const BPS: u64 = 10_000;
/// Seconds in a day (cover is sold in whole UTC days).
pub const SECONDS_PER_DAY: i64 = 86_400;
