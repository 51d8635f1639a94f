//! Why a portfolio or a run was refused.

use std::fmt;

/// A portfolio file (or a run's options) that cannot be simulated, with the
/// field it is about.
#[derive(Clone, Debug, PartialEq)]
pub enum RiskError {
    /// The TOML does not parse, or a field has the wrong type, is missing or unknown.
    Parse(String),
    /// A field has a value out of its range; `field` names it, e.g. `market "USDC".cover`.
    Invalid {
        /// The field, with the market it belongs to.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The correlation matrix has the wrong size for the markets.
    Size {
        /// The field, e.g. `correlation.matrix` or `correlation.matrix[1]`.
        field: String,
        /// The size the markets call for.
        expected: usize,
        /// The size found.
        found: usize,
    },
    /// The correlation matrix is not positive semi-definite.
    NotPositiveSemiDefinite {
        /// Its smallest eigenvalue (below zero).
        min_eigenvalue: f64,
    },
    /// `correlation.copula` is neither `"gaussian"` nor `"t"`.
    UnknownCopula(String),
}

impl RiskError {
    pub(crate) fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        RiskError::Invalid {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for RiskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RiskError::Parse(m) => write!(f, "portfolio file: {m}"),
            RiskError::Invalid { field, reason } => write!(f, "{field}: {reason}"),
            RiskError::Size { field, expected, found } => write!(
                f,
                "{field}: wrong size: {found} where the portfolio's {expected} markets need {expected} \
                 (one row and one column per market, in market order)"
            ),
            RiskError::NotPositiveSemiDefinite { min_eigenvalue } => write!(
                f,
                "correlation.matrix: not positive semi-definite (smallest eigenvalue {min_eigenvalue:.6}); \
                 no set of markets can have these correlations"
            ),
            RiskError::UnknownCopula(c) => {
                write!(
                    f,
                    "correlation.copula: unknown copula \"{c}\" (expected \"gaussian\" or \"t\")"
                )
            }
        }
    }
}

impl std::error::Error for RiskError {}
