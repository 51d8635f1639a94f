//! The portfolio file: capital by tranche, markets, payout shapes, frequencies
//! (fixed or Bayesian) and the copula.
//!
//! ```toml
//! horizon_days = 365
//! capital = [600000.0, 400000.0]        # per tranche, junior first (1 to 4 tranches)
//! tranche_names = ["junior", "senior"]  # optional
//! [[market]]
//! name = "USDC"
//! cover = 1000000.0
//! annual_probability = 0.05             # or: prior = { alpha = 1.0, beta = 19.0 } (+ history)
//! payout = "binary"                     # or: { floor = 0.80, strike = 0.95, severity = { alpha = 2.0, beta = 5.0 } }
//! [correlation]                         # optional: independent markets when absent
//! copula = "gaussian"                   # or "t", with dof = 4
//! matrix = [[1.0, 0.6], [0.6, 1.0]]
//! ```

use crate::error::RiskError;
use crate::linalg::min_eigenvalue;
use crate::special::{posterior, Beta};
use serde::Deserialize;

/// Default strike of a linear payout (price units of the covered asset).
pub const DEFAULT_STRIKE: f64 = 0.95;
/// Largest cover or tranche capital accepted, in USD (keeps base units far from `u64::MAX`).
pub const MAX_AMOUNT: f64 = 1e12;
/// Base units per USD (the pool's 6-decimal stablecoin).
pub const UNITS_PER_USD: f64 = 1e6;
/// Price units per 1.0 of price (the pool's 1e-8 price unit).
pub const PRICE_UNITS: f64 = 1e8;

/// A portfolio to simulate. Build it with [`Portfolio::from_toml`], or fill
/// the fields and call [`Portfolio::validate`].
#[derive(Clone, Debug, PartialEq)]
pub struct Portfolio {
    /// Length of the simulated period, in days.
    pub horizon_days: f64,
    /// Capital per tranche in USD, junior (tranche 0) first; 1 to 4 tranches.
    pub capital: Vec<f64>,
    /// Display names of the tranches (defaults: "tranche 0 (junior)", …).
    pub tranche_names: Vec<String>,
    /// The covered markets, in the order their events draw on capital.
    pub markets: Vec<Market>,
    /// How the markets' events depend on each other.
    pub correlation: Correlation,
}

/// One covered market.
#[derive(Clone, Debug, PartialEq)]
pub struct Market {
    /// Display name.
    pub name: String,
    /// Active cover in USD.
    pub cover: f64,
    /// How often it triggers.
    pub frequency: Frequency,
    /// What a trigger pays, per unit of cover.
    pub payout: Payout,
}

/// Annual probability of at least one triggering event.
#[derive(Clone, Debug, PartialEq)]
pub enum Frequency {
    /// A known probability.
    Annual(f64),
    /// Unknown: a Beta prior, optionally updated with observed history; the
    /// simulation draws the probability from the posterior in every scenario.
    Prior {
        /// The prior.
        prior: Beta,
        /// Observed history.
        history: Option<History>,
    },
}

impl Frequency {
    /// The posterior (the prior itself without history); `None` for a fixed probability.
    pub fn posterior(&self) -> Option<Beta> {
        match self {
            Frequency::Annual(_) => None,
            Frequency::Prior { prior, history } => Some(match history {
                Some(h) => posterior(prior.alpha, prior.beta, h.years, h.events),
                None => *prior,
            }),
        }
    }
}

/// Observed history of a market: `events` years with an event out of `years`.
#[derive(Clone, Copy, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct History {
    /// Years observed (may be fractional).
    pub years: f64,
    /// Years in which the market would have triggered (≤ years).
    pub events: f64,
}

/// Observed history given as price series instead of counts:
/// `history = { prices = ["usdc-2023.csv"], strike = 0.95, recovery = 0.97,
/// duration = 3600, max_gap = 3600, max_conf_bps = 500 }`. Each file (CSV
/// `publish_time,price,conf`, path relative to the portfolio file) is cut into
/// windows of at most 365 days; each window is the record of one observed
/// year and counts as an event year if the program's trigger rule, run over
/// it by the backtest, fires with these trigger terms. `cover risk` runs the
/// backtest and turns this into a [`History`] (see [`Portfolio::price_histories`]).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceHistory {
    /// Price files, relative to the portfolio file.
    pub prices: Vec<String>,
    /// Strike, USD.
    pub strike: f64,
    /// Recovery price, USD (≥ strike).
    pub recovery: f64,
    /// Trigger duration, seconds.
    pub duration: u32,
    /// Max gap between observations, seconds.
    pub max_gap: u32,
    /// Max confidence, bps of price.
    pub max_conf_bps: u16,
}

/// A market's `history` table: counts, or price files for the backtest.
enum RawHistory {
    Counts(History),
    Prices(PriceHistory),
}

fn parse_history(label: &str, v: Option<toml::Value>) -> Result<Option<RawHistory>, RiskError> {
    let Some(v) = v else { return Ok(None) };
    let field = format!("{label}.history");
    let is_prices = v.get("prices").is_some();
    let parsed = if is_prices {
        v.try_into().map(RawHistory::Prices)
    } else {
        v.try_into().map(RawHistory::Counts)
    };
    parsed.map(Some).map_err(|e| {
        let want = if is_prices {
            "{ prices = [files], strike, recovery, duration, max_gap, max_conf_bps }"
        } else {
            "{ years, events } or { prices = [files], strike, recovery, duration, max_gap, max_conf_bps }"
        };
        RiskError::invalid(field, format!("expected {want}: {e}"))
    })
}

/// Payout shape of a market.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Payout {
    /// The whole cover.
    Binary,
    /// From 0 at `strike` to the whole cover at `floor`, taken at the lowest
    /// price of the event; the lowest price is `strike − s × (strike − floor)`
    /// with the severity `s ~ Beta(severity)` drawn per event.
    Linear {
        /// Price at which the payout starts.
        strike: f64,
        /// Price at or below which the whole cover is paid.
        floor: f64,
        /// Distribution of the fraction of the way from strike to floor.
        severity: Beta,
    },
}

/// The dependence between markets.
#[derive(Clone, Debug, PartialEq)]
pub struct Correlation {
    /// The copula.
    pub copula: Copula,
    /// Correlation matrix, one row per market (identity: independent).
    pub matrix: Vec<Vec<f64>>,
}

/// Copula family.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Copula {
    /// Gaussian copula (no tail dependence).
    Gaussian,
    /// Student-t copula with `dof` degrees of freedom (joint extremes more likely).
    T {
        /// Degrees of freedom (> 0).
        dof: f64,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPortfolio {
    horizon_days: f64,
    capital: Vec<f64>,
    tranche_names: Option<Vec<String>>,
    #[serde(default)]
    market: Vec<RawMarket>,
    correlation: Option<RawCorrelation>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMarket {
    name: String,
    cover: f64,
    annual_probability: Option<f64>,
    prior: Option<RawBeta>,
    history: Option<toml::Value>,
    payout: Option<toml::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBeta {
    alpha: f64,
    beta: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLinear {
    floor: f64,
    strike: Option<f64>,
    severity: RawBeta,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCorrelation {
    copula: Option<String>,
    dof: Option<f64>,
    matrix: Option<Vec<Vec<f64>>>,
}

fn market_label(i: usize, name: &str) -> String {
    if name.is_empty() {
        format!("market #{}", i + 1)
    } else {
        format!("market \"{name}\"")
    }
}

fn check_beta(field: &str, b: &Beta) -> Result<(), RiskError> {
    for (k, v) in [("alpha", b.alpha), ("beta", b.beta)] {
        if !(v.is_finite() && v > 0.0) {
            return Err(RiskError::invalid(
                format!("{field}.{k}"),
                format!("must be a finite number > 0 (got {v})"),
            ));
        }
    }
    Ok(())
}

fn check_amount(field: &str, v: f64, allow_zero: bool) -> Result<(), RiskError> {
    let ok = v.is_finite() && v <= MAX_AMOUNT && if allow_zero { v >= 0.0 } else { v > 0.0 };
    if ok {
        Ok(())
    } else {
        let range = if allow_zero { "0" } else { "more than 0" };
        Err(RiskError::invalid(
            field,
            format!("must be a USD amount from {range} to {MAX_AMOUNT:e} (got {v})"),
        ))
    }
}

impl Portfolio {
    /// Parses and validates a portfolio file. A `history` given as price
    /// files is an error here: it needs the backtest (`cover risk` runs it;
    /// see [`Portfolio::from_toml_resolving`]).
    pub fn from_toml(text: &str) -> Result<Portfolio, RiskError> {
        Portfolio::from_toml_resolving(text, |_, _| {
            Err("history from price files needs the backtest: run it with `cover risk --portfolio FILE`".into())
        })
    }

    /// The markets whose `history` is given as price files, by market index.
    pub fn price_histories(text: &str) -> Result<Vec<(usize, PriceHistory)>, RiskError> {
        let raw: RawPortfolio = toml::from_str(text).map_err(|e| RiskError::Parse(e.to_string()))?;
        let mut out = Vec::new();
        for (i, m) in raw.market.into_iter().enumerate() {
            if let Some(RawHistory::Prices(h)) = parse_history(&market_label(i, &m.name), m.history)? {
                out.push((i, h));
            }
        }
        Ok(out)
    }

    /// Parses and validates a portfolio file, turning each history given as
    /// price files into counts with `resolve(market index, spec)` (the
    /// backtest); its error becomes the field's.
    pub fn from_toml_resolving(
        text: &str,
        mut resolve: impl FnMut(usize, &PriceHistory) -> Result<History, String>,
    ) -> Result<Portfolio, RiskError> {
        let raw: RawPortfolio = toml::from_str(text).map_err(|e| RiskError::Parse(e.to_string()))?;
        let mut markets = Vec::with_capacity(raw.market.len());
        for (i, m) in raw.market.into_iter().enumerate() {
            let label = market_label(i, &m.name);
            let history = match parse_history(&label, m.history)? {
                None => None,
                Some(RawHistory::Counts(h)) => Some(h),
                Some(RawHistory::Prices(p)) => {
                    Some(resolve(i, &p).map_err(|e| RiskError::invalid(format!("{label}.history.prices"), e))?)
                }
            };
            let frequency = match (m.annual_probability, m.prior) {
                (Some(_), Some(_)) => {
                    return Err(RiskError::invalid(
                        format!("{label}.annual_probability"),
                        "give either annual_probability or prior, not both",
                    ))
                }
                (None, None) => {
                    return Err(RiskError::invalid(
                        format!("{label}.annual_probability"),
                        "missing: give annual_probability or prior = { alpha, beta }",
                    ))
                }
                (Some(p), None) => {
                    if history.is_some() {
                        return Err(RiskError::invalid(
                            format!("{label}.history"),
                            "history updates a prior: give prior = { alpha, beta } instead of annual_probability",
                        ));
                    }
                    Frequency::Annual(p)
                }
                (None, Some(b)) => Frequency::Prior {
                    prior: Beta {
                        alpha: b.alpha,
                        beta: b.beta,
                    },
                    history,
                },
            };
            let payout = parse_payout(&label, m.payout)?;
            markets.push(Market {
                name: m.name,
                cover: m.cover,
                frequency,
                payout,
            });
        }
        let n = markets.len();
        let correlation = match raw.correlation {
            None => Correlation::independent(n),
            Some(c) => {
                let copula = match c.copula.as_deref().unwrap_or("gaussian") {
                    "gaussian" => {
                        if c.dof.is_some() {
                            return Err(RiskError::invalid(
                                "correlation.dof",
                                "only the t copula has degrees of freedom (set copula = \"t\" or drop dof)",
                            ));
                        }
                        Copula::Gaussian
                    }
                    "t" => Copula::T {
                        dof: c.dof.ok_or_else(|| {
                            RiskError::invalid("correlation.dof", "missing: the t copula needs dof (e.g. dof = 4)")
                        })?,
                    },
                    other => return Err(RiskError::UnknownCopula(other.to_string())),
                };
                Correlation {
                    copula,
                    matrix: c.matrix.unwrap_or_else(|| identity(n)),
                }
            }
        };
        let tranche_names = match raw.tranche_names {
            Some(names) => names,
            None => default_tranche_names(raw.capital.len()),
        };
        let p = Portfolio {
            horizon_days: raw.horizon_days,
            capital: raw.capital,
            tranche_names,
            markets,
            correlation,
        };
        p.validate()?;
        Ok(p)
    }

    /// Checks every field; the error names the first bad one.
    pub fn validate(&self) -> Result<(), RiskError> {
        if !(self.horizon_days.is_finite() && self.horizon_days > 0.0) {
            return Err(RiskError::invalid(
                "horizon_days",
                format!("must be a number of days > 0 (got {})", self.horizon_days),
            ));
        }
        let k = self.capital.len();
        if !(1..=4).contains(&k) {
            return Err(RiskError::invalid(
                "capital",
                format!("a pool has 1 to 4 tranches, junior first (got {k})"),
            ));
        }
        for (j, c) in self.capital.iter().enumerate() {
            check_amount(&format!("capital[{j}]"), *c, true)?;
        }
        if self.tranche_names.len() != k {
            return Err(RiskError::Size {
                field: "tranche_names".into(),
                expected: k,
                found: self.tranche_names.len(),
            });
        }
        if self.markets.is_empty() {
            return Err(RiskError::invalid("market", "no markets: add at least one [[market]]"));
        }
        for (i, m) in self.markets.iter().enumerate() {
            let label = market_label(i, &m.name);
            if self.markets[..i].iter().any(|o| o.name == m.name) {
                return Err(RiskError::invalid(
                    format!("{label}.name"),
                    "two markets have this name",
                ));
            }
            check_amount(&format!("{label}.cover"), m.cover, false)?;
            match &m.frequency {
                Frequency::Annual(p) => {
                    if !(p.is_finite() && (0.0..=1.0).contains(p)) {
                        return Err(RiskError::invalid(
                            format!("{label}.annual_probability"),
                            format!("must be a probability in [0, 1] (got {p})"),
                        ));
                    }
                }
                Frequency::Prior { prior, history } => {
                    check_beta(&format!("{label}.prior"), prior)?;
                    if let Some(h) = history {
                        if !(h.years.is_finite() && h.years >= 0.0) {
                            return Err(RiskError::invalid(
                                format!("{label}.history.years"),
                                format!("must be a number of years ≥ 0 (got {})", h.years),
                            ));
                        }
                        if !(h.events.is_finite() && h.events >= 0.0 && h.events <= h.years) {
                            return Err(RiskError::invalid(
                                format!("{label}.history.events"),
                                format!(
                                    "must be from 0 to history.years = {} (each year counts once, event or not; got {})",
                                    h.years, h.events
                                ),
                            ));
                        }
                    }
                }
            }
            if let Payout::Linear {
                strike,
                floor,
                severity,
            } = &m.payout
            {
                if !(strike.is_finite() && *strike > 0.0 && *strike <= 1e9) {
                    return Err(RiskError::invalid(
                        format!("{label}.payout.strike"),
                        format!("must be a price > 0 (got {strike})"),
                    ));
                }
                if !(floor.is_finite()
                    && *floor >= 0.0
                    && (floor * PRICE_UNITS).round() < (strike * PRICE_UNITS).round())
                {
                    return Err(RiskError::invalid(
                        format!("{label}.payout.floor"),
                        format!("must be a price from 0 to below the strike {strike} (got {floor})"),
                    ));
                }
                check_beta(&format!("{label}.payout.severity"), severity)?;
            }
        }
        let n = self.markets.len();
        if let Copula::T { dof } = self.correlation.copula {
            if !(dof.is_finite() && dof > 0.0) {
                return Err(RiskError::invalid(
                    "correlation.dof",
                    format!("must be a number of degrees of freedom > 0 (got {dof})"),
                ));
            }
        }
        let mat = &self.correlation.matrix;
        if mat.len() != n {
            return Err(RiskError::Size {
                field: "correlation.matrix".into(),
                expected: n,
                found: mat.len(),
            });
        }
        for (i, row) in mat.iter().enumerate() {
            if row.len() != n {
                return Err(RiskError::Size {
                    field: format!("correlation.matrix[{i}]"),
                    expected: n,
                    found: row.len(),
                });
            }
        }
        for (i, row) in mat.iter().enumerate() {
            for (j, &v) in row.iter().enumerate() {
                let at = format!("correlation.matrix[{i}][{j}]");
                if !(v.is_finite() && (-1.0..=1.0).contains(&v)) {
                    return Err(RiskError::invalid(at, format!("a correlation is in [-1, 1] (got {v})")));
                }
                if i == j && (v - 1.0).abs() > 1e-9 {
                    return Err(RiskError::invalid(
                        at,
                        format!("the diagonal of a correlation matrix is 1 (got {v})"),
                    ));
                }
                if (v - mat[j][i]).abs() > 1e-9 {
                    return Err(RiskError::invalid(
                        at,
                        format!("the matrix must be symmetric ({v} here, {} at [{j}][{i}])", mat[j][i]),
                    ));
                }
            }
        }
        let min = min_eigenvalue(mat);
        if min < -1e-9 {
            return Err(RiskError::NotPositiveSemiDefinite { min_eigenvalue: min });
        }
        Ok(())
    }

    /// Total capital in USD.
    pub fn total_capital(&self) -> f64 {
        self.capital.iter().sum()
    }
}

impl Correlation {
    /// Independent markets (Gaussian copula, identity matrix).
    pub fn independent(n: usize) -> Correlation {
        Correlation {
            copula: Copula::Gaussian,
            matrix: identity(n),
        }
    }
}

/// "tranche 0 (junior)", "tranche 1", …, "tranche k−1 (senior)".
pub fn default_tranche_names(k: usize) -> Vec<String> {
    (0..k)
        .map(|j| {
            if j == 0 && k > 1 {
                "tranche 0 (junior)".to_string()
            } else if j + 1 == k && k > 1 {
                format!("tranche {j} (senior)")
            } else {
                format!("tranche {j}")
            }
        })
        .collect()
}

fn identity(n: usize) -> Vec<Vec<f64>> {
    (0..n)
        .map(|i| (0..n).map(|j| if i == j { 1.0 } else { 0.0 }).collect())
        .collect()
}

fn parse_payout(label: &str, v: Option<toml::Value>) -> Result<Payout, RiskError> {
    let field = format!("{label}.payout");
    match v {
        None => Ok(Payout::Binary),
        Some(toml::Value::String(s)) if s == "binary" => Ok(Payout::Binary),
        Some(toml::Value::String(s)) => Err(RiskError::invalid(
            field,
            format!("unknown payout \"{s}\" (expected \"binary\" or {{ floor, severity = {{ alpha, beta }} }})"),
        )),
        Some(toml::Value::Table(t)) => {
            let raw: RawLinear = toml::Value::Table(t)
                .try_into()
                .map_err(|e: toml::de::Error| RiskError::invalid(field.clone(), e.message().trim().to_string()))?;
            Ok(Payout::Linear {
                strike: raw.strike.unwrap_or(DEFAULT_STRIKE),
                floor: raw.floor,
                severity: Beta {
                    alpha: raw.severity.alpha,
                    beta: raw.severity.beta,
                },
            })
        }
        Some(other) => Err(RiskError::invalid(
            field,
            format!(
                "expected \"binary\" or {{ floor, severity = {{ alpha, beta }} }}, got a {}",
                other.type_str()
            ),
        )),
    }
}
