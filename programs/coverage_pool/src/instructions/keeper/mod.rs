pub mod check_trigger;

pub use check_trigger::*;
