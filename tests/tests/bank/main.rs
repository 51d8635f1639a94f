//! Bank tests: the real program natively inside solana-program-test, told as
//! the protocol's stories. One test binary (links once), one module per
//! capability.

mod attacks;
mod audit;
mod cover;
mod governance;
mod integrator;
mod markets;
mod sequences;
mod settlement;
mod staking;
