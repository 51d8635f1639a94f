//! load

use super::*;
