//! `risk-bench PORTFOLIO.toml [--scenarios N] [--seed S] [--target T]
//! [--cost-of-capital C] [--threads N] [--out DIR]`: runs the risk engine and
//! prints the JSON report; the simulation's wall time goes to stderr
//! (`simulate_seconds=…`). `--out` also writes the two charts,
//! `loss_exceedance` and `tranche_losses`, as SVG and PNG. A stand-in for
//! `cover risk` used by scripts/bench_risk.sh.

use coverage_risk::{plot, simulate_with, Options, Portfolio};
use std::process::ExitCode;
use std::time::Instant;

fn run() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let mut path = None;
    let mut opts = Options::default();
    let mut threads = None;
    let mut out = None;
    while let Some(a) = args.next() {
        let mut val = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        match a.as_str() {
            "--scenarios" => opts.scenarios = val("--scenarios")?.parse().map_err(|e| format!("--scenarios: {e}"))?,
            "--seed" => opts.seed = val("--seed")?.parse().map_err(|e| format!("--seed: {e}"))?,
            "--target" => opts.target = val("--target")?.parse().map_err(|e| format!("--target: {e}"))?,
            "--cost-of-capital" => {
                opts.cost_of_capital = val("--cost-of-capital")?
                    .parse()
                    .map_err(|e| format!("--cost-of-capital: {e}"))?
            }
            "--threads" => {
                threads = Some(
                    val("--threads")?
                        .parse::<usize>()
                        .map_err(|e| format!("--threads: {e}"))?,
                )
            }
            "--out" => out = Some(val("--out")?),
            "-h" | "--help" => {
                println!("usage: risk-bench PORTFOLIO.toml [--scenarios N] [--seed S] [--target T] [--cost-of-capital C] [--threads N] [--out DIR]");
                return Ok(());
            }
            _ if path.is_none() && !a.starts_with("--") => path = Some(a),
            _ => return Err(format!("unknown argument {a}")),
        }
    }
    let path = path.ok_or("usage: risk-bench PORTFOLIO.toml [options]")?;
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
    let portfolio = Portfolio::from_toml(&text).map_err(|e| format!("{path}: {e}"))?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads.unwrap_or(0))
        .build()
        .map_err(|e| e.to_string())?;
    let start = Instant::now();
    let report = pool
        .install(|| simulate_with(&portfolio, &opts, None))
        .map_err(|e| e.to_string())?;
    eprintln!(
        "simulate_seconds={:.4} scenarios={} threads={}",
        start.elapsed().as_secs_f64(),
        opts.scenarios,
        pool.current_num_threads()
    );
    if let Some(dir) = out {
        std::fs::create_dir_all(&dir).map_err(|e| format!("{dir}: {e}"))?;
        let dir = std::path::Path::new(&dir);
        let e = |e: std::io::Error| format!("{}: {e}", dir.display());
        plot::write(&plot::exceedance(&report), dir, "loss_exceedance").map_err(e)?;
        plot::write(&plot::tranche_losses(&report), dir, "tranche_losses").map_err(e)?;
    }
    println!("{}", serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?);
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("risk-bench: {e}");
            ExitCode::FAILURE
        }
    }
}
