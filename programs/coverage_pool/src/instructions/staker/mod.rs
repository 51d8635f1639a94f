pub mod cancel_withdrawal;
pub mod deposit;
pub mod request_withdrawal;
pub mod withdraw;

pub use cancel_withdrawal::*;
pub use deposit::*;
pub use request_withdrawal::*;
pub use withdraw::*;
