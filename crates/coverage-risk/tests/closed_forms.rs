//! The risk engine against closed forms, within Monte Carlo error (5
//! standard errors), plus its invariants per scenario, its reproducibility
//! and its errors on bad portfolio files.

use coverage_risk::special::ln_gamma;
use coverage_risk::{
    for_each_scenario, plot, posterior, simulate, simulate_with, Beta, Options, Portfolio, Report, RiskError,
};

const N: u64 = 200_000;

fn parse(text: &str) -> Portfolio {
    Portfolio::from_toml(text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

/// |got − want| within `k` standard errors of a proportion estimated from `n` scenarios.
fn near_p(got: f64, want: f64, n: u64, what: &str) {
    let se = (want * (1.0 - want) / n as f64).sqrt().max(1.0 / n as f64);
    assert!(
        (got - want).abs() <= 5.0 * se,
        "{what}: {got} vs closed form {want} (5 s.e. = {})",
        5.0 * se
    );
}

/// A portfolio of binary markets with the given annual probabilities, 1M cover each.
fn binary_portfolio(capital: &[f64], probs: &[f64], correlation: &str) -> String {
    let mut s = format!("horizon_days = 365\ncapital = {capital:?}\n");
    for (i, p) in probs.iter().enumerate() {
        s +=
            &format!("[[market]]\nname = \"M{i}\"\ncover = 1000000.0\nannual_probability = {p}\npayout = \"binary\"\n");
    }
    s + correlation
}

fn all_ones(n: usize) -> String {
    let row = format!("[{}]", vec!["1.0"; n].join(", "));
    format!("[{}]", vec![row; n].join(", "))
}

#[test]
fn independent_binary_markets() {
    let probs = [0.05, 0.1, 0.2];
    let p = parse(&binary_portfolio(&[1e9], &probs, ""));
    let r = simulate(&p, N, 11, None);
    let none: f64 = probs.iter().map(|q| 1.0 - q).product();
    near_p(r.p_loss, 1.0 - none, N, "p_loss = 1 − Π(1 − pᵢ)");
    for (m, q) in r.markets.iter().zip(probs) {
        near_p(m.p_trigger, q, N, &format!("p_trigger of {}", m.name));
        // binary, capital ample: the market pays its whole cover when it triggers
        assert!((m.expected_loss - m.p_trigger * 1e6).abs() < 1e-6, "{m:?}");
    }
    assert_eq!(r.p_shortfall, 0.0);
}

#[test]
fn perfectly_correlated_markets() {
    let probs = [0.05, 0.1, 0.2];
    for copula in ["copula = \"gaussian\"", "copula = \"t\"\ndof = 3.0"] {
        let corr = format!("[correlation]\n{copula}\nmatrix = {}\n", all_ones(3));
        let p = parse(&binary_portfolio(&[1e9], &probs, &corr));
        let r = simulate(&p, N, 12, None);
        near_p(r.p_loss, 0.2, N, &format!("p_loss = max pᵢ ({copula})"));
        for (m, q) in r.markets.iter().zip(probs) {
            near_p(m.p_trigger, q, N, &format!("p_trigger of {} ({copula})", m.name));
        }
        // comonotone: a rarer market never triggers without the more frequent ones
        for_each_scenario(&p, 50_000, 12, |s, o| {
            assert!(!o.triggered[0] || o.triggered[1], "scenario {s}: {:?}", o.triggered);
            assert!(!o.triggered[1] || o.triggered[2], "scenario {s}: {:?}", o.triggered);
        })
        .unwrap();
    }
}

#[test]
fn shortfall_when_capital_covers_one_market_but_not_two() {
    let p = parse(&binary_portfolio(&[1_500_000.0], &[0.1, 0.2], ""));
    let r = simulate(&p, N, 13, None);
    near_p(r.p_shortfall, 0.1 * 0.2, N, "p_shortfall = P(both trigger)");
    near_p(r.p_loss, 1.0 - 0.9 * 0.8, N, "p_loss");
    for_each_scenario(&p, 50_000, 13, |s, o| {
        let both = o.triggered[0] && o.triggered[1];
        assert_eq!(o.short, both, "scenario {s}");
        if both {
            // market order: the first is paid in full, the second gets what is left
            assert_eq!(o.payouts, &[1_000_000_000_000, 500_000_000_000][..], "scenario {s}");
        }
    })
    .unwrap();
    // the worst scenarios wipe the pool: VaR = ES = capital
    assert_eq!(r.var_99_5, 1_500_000.0);
    assert_eq!(r.es_99_5, 1_500_000.0);
    // the target quantile of what is owed: both markets, 2M
    assert_eq!(r.capital_needed, 2_000_000.0);
}

#[test]
fn beta_binomial_posterior() {
    // prior Beta(1, 19), 5 years with 1 event: Beta(1 + 1, 19 + 5 − 1)
    let b = posterior(1.0, 19.0, 5.0, 1.0);
    assert_eq!(b, Beta { alpha: 2.0, beta: 23.0 });
    assert!((b.mean() - 0.08).abs() < 1e-15);
    // closed-form CDF of Beta(2, β): 1 − (1 − x)^β (1 + β x)
    let cdf2 = |x: f64| 1.0 - (1.0 - x).powf(23.0) * (1.0 + 23.0 * x);
    let [lo, hi] = b.ci_90();
    assert!((cdf2(lo) - 0.05).abs() < 1e-12, "{lo}");
    assert!((cdf2(hi) - 0.95).abs() < 1e-12, "{hi}");
    assert!((b.cdf(lo) - 0.05).abs() < 1e-12 && (b.cdf(hi) - 0.95).abs() < 1e-12);
    for x in [0.001, 0.02, 0.08, 0.3] {
        assert!((b.cdf(x) - cdf2(x)).abs() < 1e-13, "cdf at {x}");
    }
    // quantiles with closed forms: Beta(1, β) and Beta(α, 1)
    for q in [0.01, 0.05, 0.5, 0.95] {
        let one_b = Beta { alpha: 1.0, beta: 7.0 };
        assert!((one_b.quantile(q) - (1.0 - (1.0 - q).powf(1.0 / 7.0))).abs() < 1e-13);
        let a_one = Beta { alpha: 3.0, beta: 1.0 };
        assert!((a_one.quantile(q) - q.powf(1.0 / 3.0)).abs() < 1e-13);
        assert!((Beta { alpha: 1.0, beta: 1.0 }.quantile(q) - q).abs() < 1e-14);
    }
    // fractional years count by weight
    assert_eq!(posterior(1.0, 1.0, 2.5, 0.0), Beta { alpha: 1.0, beta: 3.5 });

    // the report carries it, and the simulation triggers at the posterior mean
    let text = "horizon_days = 365\ncapital = [1e9]\n[[market]]\nname = \"USDT\"\ncover = 1000.0\n\
                prior = { alpha = 1.0, beta = 19.0 }\nhistory = { years = 5.0, events = 1 }\n";
    let r = simulate(&parse(text), N, 14, None);
    let post = r.markets[0].posterior.as_ref().expect("posterior reported");
    assert_eq!((post.alpha, post.beta, post.mean), (2.0, 23.0, 0.08));
    assert_eq!(post.ci_90, [lo, hi]);
    near_p(r.markets[0].p_trigger, 0.08, N, "P(trigger) = posterior mean");
}

#[test]
fn parameter_uncertainty_is_simulated() {
    // 30-day horizon, uniform prior: P(trigger) = 1 − E[(1 − p)^e] = 1 − B(1, 1 + e) / B(1, 1),
    // not the plug-in 1 − (1 − E p)^e
    let e = 30.0 / 365.0;
    let text = "horizon_days = 30\ncapital = [1e9]\n[[market]]\nname = \"X\"\ncover = 1000.0\n\
                prior = { alpha = 1.0, beta = 1.0 }\n";
    let r = simulate(&parse(text), N, 15, None);
    let exact = 1.0 - (ln_gamma(2.0) + ln_gamma(1.0 + e) - ln_gamma(1.0) - ln_gamma(2.0 + e)).exp();
    near_p(r.markets[0].p_trigger, exact, N, "P(trigger) over the posterior");
    let plug_in = 1.0 - 0.5f64.powf(e);
    assert!(
        (r.markets[0].p_trigger - plug_in).abs() > 0.01,
        "parameter uncertainty missing"
    );
    // a fixed probability converts to the horizon as 1 − (1 − p)^(days/365)
    let text =
        "horizon_days = 30\ncapital = [1e9]\n[[market]]\nname = \"X\"\ncover = 1000.0\nannual_probability = 0.3\n";
    let r = simulate(&parse(text), N, 15, None);
    near_p(r.markets[0].p_trigger, 1.0 - 0.7f64.powf(e), N, "horizon probability");
}

#[test]
fn linear_payout_severity() {
    // severity s ~ Beta(2, 5) is the fraction of the way from strike to floor:
    // the payout fraction is s (up to the 1e-8 price unit), mean 2/7
    let text = "horizon_days = 365\ncapital = [1e9]\n[[market]]\nname = \"L\"\ncover = 1000000.0\n\
                annual_probability = 0.3\npayout = { floor = 0.80, severity = { alpha = 2.0, beta = 5.0 } }\n";
    let r = simulate(&parse(text), N, 16, None);
    let m = &r.markets[0];
    let mean_s = 2.0 / 7.0;
    let second = 10.0 / (49.0 * 8.0) + mean_s * mean_s;
    let (p, cover) = (0.3, 1e6);
    let var = cover * cover * (p * second - (p * mean_s) * (p * mean_s));
    let se = (var / N as f64).sqrt();
    assert!(
        (m.expected_loss - p * mean_s * cover).abs() < 5.0 * se,
        "{} vs {}",
        m.expected_loss,
        p * mean_s * cover
    );
    for_each_scenario(&parse(text), 20_000, 16, |s, o| {
        assert!(o.payouts[0] <= 1_000_000_000_000, "scenario {s}");
        // capital is ample: whatever an event owes is paid (the owed amount rounds up, the payout down)
        assert!(o.owed == 0 || o.payouts[0] + 1 >= o.owed, "scenario {s}: {o:?}");
        if !o.triggered[0] {
            assert_eq!((o.owed, o.payouts[0]), (0, 0), "scenario {s}");
        }
    })
    .unwrap();
}

const MIXED: &str = r#"
horizon_days = 180
capital = [300000.0, 500000.0, 700000.0]
tranche_names = ["first loss", "mezzanine", "senior"]
[[market]]
name = "USDC"
cover = 900000.0
annual_probability = 0.08
[[market]]
name = "USDT"
cover = 700000.0
prior = { alpha = 2.0, beta = 18.0 }
history = { years = 3.5, events = 1 }
payout = { floor = 0.85, strike = 0.97, severity = { alpha = 1.5, beta = 2.5 } }
[[market]]
name = "DAI"
cover = 600000.0
annual_probability = 0.12
payout = { floor = 0.80, severity = { alpha = 3.0, beta = 3.0 } }
[correlation]
copula = "t"
dof = 4
matrix = [[1.0, 0.5, 0.3], [0.5, 1.0, 0.4], [0.3, 0.4, 1.0]]
"#;

#[test]
fn es_at_least_var_and_euler_contributions_add_up() {
    for text in [MIXED, include_str!("../../../risk/portfolio.toml")] {
        let r = simulate(&parse(text), N, 17, None);
        assert!(r.es_99_5 >= r.var_99_5, "ES {} < VaR {}", r.es_99_5, r.var_99_5);
        assert!(r.var_99_5 <= r.total_capital);
        let sum: f64 = r.markets.iter().map(|m| m.capital_contribution).sum();
        assert!(
            (sum - r.es_99_5).abs() < 1e-6 * r.es_99_5.max(1.0),
            "Σ contributions {sum} vs ES {}",
            r.es_99_5
        );
        let el: f64 = r.markets.iter().map(|m| m.expected_loss).sum();
        let tranche_el: f64 = r.tranches.iter().map(|t| t.expected_loss).sum();
        assert!((el - r.expected_loss).abs() < 1e-6 && (tranche_el - r.expected_loss).abs() < 1e-6);
        // the exceedance curve starts at P(loss > 0) and never rises
        assert_eq!(r.exceedance[0].probability, r.p_loss);
        assert!(r
            .exceedance
            .windows(2)
            .all(|w| w[1].probability <= w[0].probability && w[1].loss > w[0].loss));
        for m in &r.markets {
            let want = (m.expected_loss + 0.10 * m.capital_contribution) / m.cover * 365.0 / r.horizon_days * 1e4;
            assert!((m.suggested_rate_bps - want).abs() < 1e-9, "{m:?}");
        }
    }
}

#[test]
fn tranche_order_junior_first() {
    let p = parse(MIXED);
    let r = simulate(&p, N, 18, None);
    assert_eq!(r.tranches[0].name, "first loss");
    assert!(r.tranches[0].p_loss >= r.tranches[1].p_loss && r.tranches[1].p_loss >= r.tranches[2].p_loss);
    assert!(r.tranches[2].p_loss > 0.0, "the test should reach the senior tranche");
    let capital = [300_000_000_000u64, 500_000_000_000, 700_000_000_000];
    let mut seen_senior = 0;
    for_each_scenario(&p, N, 18, |s, o| {
        let l = o.tranche_losses;
        for j in 1..3 {
            // junior loses whenever a more senior tranche does, and is then (all but) wiped out
            if l[j] > 0 {
                assert!(l[j - 1] > 0, "scenario {s}: {l:?}");
                assert!(l[j - 1] + 4 >= capital[j - 1], "scenario {s}: {l:?}");
            }
        }
        seen_senior += (l[2] > 0) as u32;
        assert_eq!(
            l.iter().sum::<u64>(),
            o.total,
            "scenario {s}: tranches lose what is paid"
        );
        assert_eq!(o.payouts.iter().sum::<u64>(), o.total, "scenario {s}");
        assert!(o.total <= o.owed, "scenario {s}");
    })
    .unwrap();
    assert!(seen_senior > 0);
    // for_each_scenario sees the very scenarios of simulate
    let mut hits = [0u64; 3];
    for_each_scenario(&p, N, 18, |_, o| {
        for (h, &l) in hits.iter_mut().zip(o.tranche_losses) {
            *h += (l > 0) as u64;
        }
    })
    .unwrap();
    for (h, t) in hits.iter().zip(&r.tranches) {
        assert_eq!(*h as f64 / N as f64, t.p_loss);
    }
}

#[test]
fn seeded_and_thread_count_independent() {
    let p = parse(MIXED);
    let opts = Options {
        scenarios: 50_001, // not a multiple of the chunk size
        seed: 7,
        target: 0.99,
        cost_of_capital: 0.12,
    };
    let run = |threads: usize| -> Report {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| simulate_with(&p, &opts, None).unwrap())
    };
    let one = run(1);
    assert_eq!(one, run(2));
    assert_eq!(one, run(3));
    assert_eq!(one, run(1));
    let other = simulate_with(&p, &Options { seed: 8, ..opts }, None).unwrap();
    assert_ne!(one, other);
    assert_eq!((one.target, one.cost_of_capital, one.seed), (0.99, 0.12, 7));
    // progress reaches the total
    let last = std::cell::Cell::new(0);
    simulate(&p, 30_000, 1, Some(&|done| last.set(done)));
    assert_eq!(last.get(), 30_000);
}

#[test]
fn charts_are_standalone_svg_and_png() {
    let r = simulate(&parse(MIXED), 20_000, 19, None);
    let exceedance = plot::svg(&plot::exceedance(&r)).unwrap();
    let tranches = plot::svg(&plot::tranche_losses(&r)).unwrap();
    for svg in [&exceedance, &tranches] {
        assert!(
            svg.starts_with("<svg ") && svg.contains("xmlns=\"http://www.w3.org/2000/svg\""),
            "{svg}"
        );
        assert!(svg.trim_end().ends_with("</svg>"));
    }
    assert!(exceedance.contains("<polyline") && exceedance.contains("VaR 99.5 %"));
    assert!(tranches.contains("first loss") && tranches.contains("mezzanine") && tranches.contains("senior"));
    // the PNGs: twice the SVG's size
    let dir = std::env::temp_dir().join(format!("coverage-risk-plots-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let [svg_path, png_path] = plot::write(&plot::tranche_losses(&r), &dir, "tranche_losses").unwrap();
    assert_eq!(std::fs::read_to_string(svg_path).unwrap(), tranches);
    let png = std::fs::read(png_path).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let (w, h) = (
        u32::from_be_bytes(png[16..20].try_into().unwrap()),
        u32::from_be_bytes(png[20..24].try_into().unwrap()),
    );
    assert_eq!((w, h), (1600, 920));
    let json = serde_json::to_value(&r).unwrap();
    for key in [
        "scenarios",
        "p_loss",
        "expected_loss",
        "var_99_5",
        "es_99_5",
        "p_shortfall",
        "tranches",
        "markets",
        "capital_needed",
        "target",
        "exceedance",
    ] {
        assert!(json.get(key).is_some(), "report lacks {key}");
    }
    for key in [
        "name",
        "p_trigger",
        "expected_loss",
        "capital_contribution",
        "suggested_rate_bps",
    ] {
        assert!(json["markets"][0].get(key).is_some(), "market lacks {key}");
    }
    assert!(json["markets"][0].get("posterior").is_none());
    assert!(json["markets"][1]["posterior"]["ci_90"].is_array());
}

fn err(text: &str) -> RiskError {
    match Portfolio::from_toml(text) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => e,
    }
}

#[test]
fn bad_portfolio_files_get_clear_errors() {
    let two = |extra: &str, corr: &str| {
        format!(
            "horizon_days = 365\ncapital = [1000.0]\n[[market]]\nname = \"USDC\"\ncover = 100.0\n{extra}\n\
             [[market]]\nname = \"USDT\"\ncover = 100.0\nannual_probability = 0.1\n{corr}"
        )
    };
    let ok_p = "annual_probability = 0.05";
    let msg = |e: RiskError| e.to_string();

    // a 3 × 3 matrix for two markets: the wrong size (the same matrix on three
    // markets, not positive semi-definite, just below)
    let e = err(&two(
        ok_p,
        "[correlation]\nmatrix = [[1.0, 0.9, -0.9], [0.9, 1.0, 0.9], [-0.9, 0.9, 1.0]]",
    ));
    assert!(
        matches!(
            e,
            RiskError::Size {
                expected: 2,
                found: 3,
                ..
            }
        ),
        "{e:?}"
    );
    let three = format!(
        "{}\n[[market]]\nname = \"DAI\"\ncover = 1.0\nannual_probability = 0.1\n\
         [correlation]\nmatrix = [[1.0, 0.9, -0.9], [0.9, 1.0, 0.9], [-0.9, 0.9, 1.0]]",
        two(ok_p, "")
    );
    let e = err(&three);
    assert!(matches!(e, RiskError::NotPositiveSemiDefinite { min_eigenvalue } if min_eigenvalue < 0.0));
    assert!(msg(e).contains("not positive semi-definite"));

    // wrong sizes
    let e = err(&two(ok_p, "[correlation]\nmatrix = [[1.0, 0.2], [0.2]]"));
    assert!(matches!(&e, RiskError::Size { field, expected: 2, found: 1 } if field == "correlation.matrix[1]"));
    assert!(msg(e).contains("correlation.matrix[1]"));
    let e = err(&two(ok_p, "[correlation]\nmatrix = [[1.0]]"));
    assert!(msg(e).contains("correlation.matrix: wrong size"));
    let e = err(&format!("tranche_names = [\"a\", \"b\"]\n{}", two(ok_p, "")));
    assert!(msg(e).contains("tranche_names"));

    // probabilities out of [0, 1]
    for bad in ["1.5", "-0.1"] {
        let e = msg(err(&two(&format!("annual_probability = {bad}"), "")));
        assert!(
            e.contains("market \"USDC\".annual_probability") && e.contains("[0, 1]"),
            "{e}"
        );
    }
    // bad alpha / beta
    let e = msg(err(&two("prior = { alpha = 0.0, beta = 19.0 }", "")));
    assert!(e.contains("market \"USDC\".prior.alpha"), "{e}");
    let e = msg(err(&two("prior = { alpha = 1.0, beta = -2.0 }", "")));
    assert!(e.contains("market \"USDC\".prior.beta"), "{e}");
    let e = msg(err(&two(
        "annual_probability = 0.1\npayout = { floor = 0.8, severity = { alpha = 1.0, beta = 0.0 } }",
        "",
    )));
    assert!(e.contains("market \"USDC\".payout.severity.beta"), "{e}");
    let e = msg(err(&two(
        "prior = { alpha = 1.0, beta = 1.0 }\nhistory = { years = 2.0, events = 3 }",
        "",
    )));
    assert!(e.contains("market \"USDC\".history.events"), "{e}");
    let e = msg(err(&two(
        "annual_probability = 0.1\npayout = { floor = 0.96, severity = { alpha = 1.0, beta = 1.0 } }",
        "",
    )));
    assert!(e.contains("market \"USDC\".payout.floor"), "{e}");
    let e = msg(err(&two(
        "annual_probability = 0.1\nprior = { alpha = 1.0, beta = 1.0 }",
        "",
    )));
    assert!(e.contains("either annual_probability or prior"), "{e}");
    let e = msg(err(&two("", "")));
    assert!(e.contains("market \"USDC\".annual_probability: missing"), "{e}");
    let e = msg(err(&two("annual_probability = 0.1\npayout = \"step\"", "")));
    assert!(e.contains("unknown payout \"step\""), "{e}");

    // copula: dof ≤ 0, missing dof, unknown copula
    for dof in ["0.0", "-3.0"] {
        let e = msg(err(&two(ok_p, &format!("[correlation]\ncopula = \"t\"\ndof = {dof}"))));
        assert!(e.contains("correlation.dof") && e.contains("> 0"), "{e}");
    }
    let e = msg(err(&two(ok_p, "[correlation]\ncopula = \"t\"")));
    assert!(e.contains("correlation.dof: missing"), "{e}");
    let e = err(&two(ok_p, "[correlation]\ncopula = \"clayton\""));
    assert_eq!(e, RiskError::UnknownCopula("clayton".into()));
    assert!(msg(e).contains("unknown copula \"clayton\""));

    // matrix entries, symmetry, diagonal
    let e = msg(err(&two(ok_p, "[correlation]\nmatrix = [[1.0, 0.3], [0.2, 1.0]]")));
    assert!(e.contains("symmetric"), "{e}");
    let e = msg(err(&two(ok_p, "[correlation]\nmatrix = [[0.9, 0.3], [0.3, 1.0]]")));
    assert!(e.contains("diagonal"), "{e}");

    // tranches, amounts, horizon, syntax, unknown fields
    let e = msg(err("horizon_days = 365\ncapital = [1.0, 1.0, 1.0, 1.0, 1.0]\n[[market]]\nname = \"A\"\ncover = 1.0\nannual_probability = 0.1\n"));
    assert!(e.contains("1 to 4 tranches"), "{e}");
    let e = msg(err(
        "horizon_days = 0\ncapital = [1.0]\n[[market]]\nname = \"A\"\ncover = 1.0\nannual_probability = 0.1\n",
    ));
    assert!(e.contains("horizon_days"), "{e}");
    let e = msg(err(
        "horizon_days = 365\ncapital = [1.0]\n[[market]]\nname = \"A\"\ncover = -5.0\nannual_probability = 0.1\n",
    ));
    assert!(e.contains("market \"A\".cover"), "{e}");
    let e = msg(err("horizon_days = 365\ncapital = [1.0]\n"));
    assert!(e.contains("no markets"), "{e}");
    let e = err("horizon_days = 365\ncapital = [1.0\n");
    assert!(matches!(e, RiskError::Parse(_)), "{e:?}");
    let e = msg(err(
        "horizon_days = 365\ncapital = [1.0]\n[[market]]\nname = \"A\"\ncover = 1.0\nannual_probabilty = 0.1\n",
    ));
    assert!(e.contains("annual_probabilty"), "{e}");

    // run options
    let p = parse(&two(ok_p, ""));
    let bad = simulate_with(
        &p,
        &Options {
            target: 1.0,
            ..Options::default()
        },
        None,
    )
    .unwrap_err();
    assert!(bad.to_string().starts_with("target"));
}

#[test]
fn singular_and_perfectly_correlated_matrices_work() {
    // rank-one with a negative sign: the second market is the first's mirror image
    let text = binary_portfolio(
        &[1e9],
        &[0.5, 0.5],
        "[correlation]\nmatrix = [[1.0, -1.0], [-1.0, 1.0]]\n",
    );
    let p = parse(&text);
    for_each_scenario(&p, 20_000, 20, |s, o| {
        assert!(o.triggered[0] != o.triggered[1], "scenario {s}")
    })
    .unwrap();
    let r = simulate(&p, 20_000, 20, None);
    assert_eq!(r.p_loss, 1.0);
    assert_eq!(r.p_shortfall, 0.0);
}

/// VaR, ES, the Euler contributions and `capital_needed` computed from every
/// scenario (all records kept, sorted) equal the engine's, which keeps only
/// the records its histogram says can be in the tail; with a progress
/// callback the run goes in several waves, so the cut moves between them.
#[test]
fn tail_statistics_equal_a_brute_force_over_every_scenario() {
    const N: u64 = 300_000;
    for (text, target) in [(MIXED, 0.99), (include_str!("../../../risk/portfolio.toml"), 0.995)] {
        let p = parse(text);
        let n = p.markets.len();
        let mut totals = Vec::with_capacity(N as usize);
        let mut payouts = Vec::with_capacity(N as usize);
        let mut owed = Vec::with_capacity(N as usize);
        for_each_scenario(&p, N, 21, |_, o| {
            totals.push(o.total);
            payouts.push(o.payouts.to_vec());
            owed.push(o.owed);
        })
        .unwrap();
        // VaR: the m-th smallest, m = ⌈N α⌉; ES over the W = N − m above it, ties at VaR shared
        let m = ((N as f64 * 0.995 - 1e-9).ceil() as u64).clamp(1, N) as usize;
        let mut sorted = totals.clone();
        sorted.sort_unstable();
        let var = sorted[m - 1];
        let w = (N as usize - m) as u128;
        let above: Vec<usize> = (0..N as usize).filter(|&s| totals[s] > var).collect();
        let at: Vec<usize> = (0..N as usize).filter(|&s| totals[s] == var).collect();
        let from_ties = w - (above.len() as u128).min(w);
        let sum_above: u128 = above.iter().map(|&s| totals[s] as u128).sum();
        let es = (sum_above + from_ties * var as u128) as f64 / w as f64;
        let contribution = |i: usize| {
            let ma: u128 = above.iter().map(|&s| payouts[s][i] as u128).sum();
            let mt: u128 = at.iter().map(|&s| payouts[s][i] as u128).sum();
            (ma * at.len() as u128 + from_ties * mt) as f64 / (at.len() as u128 * w) as f64
        };
        let mut owed_sorted = owed.clone();
        owed_sorted.sort_unstable();
        let mo = ((N as f64 * target - 1e-9).ceil() as u64).clamp(1, N) as usize;
        let capital_needed = owed_sorted[mo - 1];

        let opts = Options {
            scenarios: N,
            seed: 21,
            target,
            cost_of_capital: 0.10,
        };
        let plain = simulate_with(&p, &opts, None).unwrap();
        let waves = simulate_with(&p, &opts, Some(&|_| {})).unwrap();
        assert_eq!(plain, waves);
        assert!(var > 0 && !at.is_empty(), "the test wants a loss at VaR");
        assert_eq!(plain.var_99_5, var as f64 / 1e6);
        assert_eq!(plain.es_99_5, es / 1e6);
        assert_eq!(plain.capital_needed, capital_needed as f64 / 1e6);
        for i in 0..n {
            assert_eq!(
                plain.markets[i].capital_contribution,
                contribution(i) / 1e6,
                "market {i}"
            );
        }
    }
}
