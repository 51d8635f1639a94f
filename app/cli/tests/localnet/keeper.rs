//! keeper

use super::*;
