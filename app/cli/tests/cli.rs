//! The `cover` binary, run as a user would.

use std::process::Command;

fn cover() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_cover"));
    c.env("RUST_LOG", "error").env("HOME", std::env::temp_dir());
    c
}

fn data(name: &str) -> String {
    format!("{}/../../data/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn json(out: &std::process::Output) -> serde_json::Value {
    assert!(out.status.success(), "failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON object ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

#[test]
fn demo_json_has_every_field_and_the_vault_equals_the_books() {
    let dir = std::env::temp_dir().join(format!("cover-demo-{}", std::process::id()));
    let out = cover().args(["demo", "--json", "--out"]).arg(&dir).output().unwrap();
    let v = json(&out);
    for field in [
        "triggered",
        "trigger_time",
        "policies",
        "premiums_paid",
        "payouts",
        "haircut_bps",
        "tranches",
        "vault_balance",
        "books_total",
    ] {
        assert!(v.get(field).is_some(), "missing {field}: {v}");
    }
    assert_eq!(v["triggered"], true);
    assert_eq!(v["trigger_time"], 1_678_527_000);
    assert_eq!(v["vault_balance"], v["books_total"], "vault equals the books");
    assert_eq!(v["haircut_bps"], 10_000);
    assert!(v["payouts"].as_u64().unwrap() > 0);
    assert!(v["premiums_paid"].as_u64().unwrap() > 0);
    let tranches = v["tranches"].as_array().unwrap();
    assert_eq!(tranches.len(), 2);
    for t in tranches {
        for f in ["name", "share_price_start", "share_price_end"] {
            assert!(t.get(f).is_some(), "tranche missing {f}");
        }
    }
    // the junior tranche took the loss, the senior did not
    assert!(tranches[0]["share_price_end"].as_f64().unwrap() < 0.5);
    assert!(tranches[1]["share_price_end"].as_f64().unwrap() >= 1.0);
    let svg = std::fs::read_to_string(dir.join("demo.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("strike 0.95") && svg.contains("trigger Mar 11 09:30 UTC"));
    assert!(is_png(&dir.join("demo.png")));
}

/// A PNG file (its signature).
fn is_png(path: &std::path::Path) -> bool {
    std::fs::read(path).is_ok_and(|b| b.starts_with(b"\x89PNG\r\n\x1a\n"))
}

fn backtest(duration: &str) -> serde_json::Value {
    let out = cover()
        .args([
            "backtest",
            "--prices",
            &data("usdc-2023-03-svb.csv"),
            "--strike",
            "0.95",
            "--recovery",
            "0.97",
        ])
        .args([
            "--duration",
            duration,
            "--max-gap",
            "3600",
            "--max-conf-bps",
            "500",
            "--json",
        ])
        .output()
        .unwrap();
    json(&out)
}

/// Expected values: `python3 scripts/trigger_reference.py data/usdc-2023-03-svb.csv 0.95 0.97 3600 3600 500`
#[test]
fn backtest_of_the_svb_series_triggers_a_one_hour_market() {
    let v = backtest("3600");
    assert_eq!(v["triggered"], true);
    assert_eq!(v["streak_start"], 1_678_523_400);
    assert_eq!(v["trigger_time"], 1_678_527_000);
    assert_eq!((v["accepted"].as_u64(), v["rejected"].as_u64()), (Some(188), Some(0)));
    assert_eq!(v["lowest_price"].as_f64(), Some(0.90877355));
}

/// `python3 scripts/trigger_reference.py data/usdc-2023-03-svb.csv 0.95 0.97 86400 3600 500`
#[test]
fn backtest_of_the_svb_series_does_not_trigger_a_one_day_market() {
    let v = backtest("86400");
    assert_eq!(v["triggered"], false);
    assert_eq!(v["trigger_time"], serde_json::Value::Null);
    assert_eq!((v["accepted"].as_u64(), v["rejected"].as_u64()), (Some(808), Some(0)));
}

#[test]
fn bad_csv_files_fail_with_the_line_number() {
    let dir = std::env::temp_dir().join(format!("cover-csv-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (name, text, expect) in [
        ("missing.csv", "publish_time,price\n1,1\n", "line 1"),
        (
            "garbage.csv",
            "publish_time,price,conf\n1678338000,1.0,0\n1678338900,one,0\n",
            "line 3: price is not a number",
        ),
        (
            "backwards.csv",
            "publish_time,price,conf\n1678338900,1.0,0\n1678338000,1.0,0\n",
            "line 3: publish_time 1678338000 goes backwards",
        ),
        (
            "short.csv",
            "publish_time,price,conf\n1678338000,1.0\n",
            "line 2: missing column conf",
        ),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        let out = cover()
            .args(["backtest", "--prices"])
            .arg(&path)
            .args([
                "--strike",
                "0.95",
                "--recovery",
                "0.97",
                "--duration",
                "3600",
                "--max-gap",
                "3600",
                "--max-conf-bps",
                "500",
            ])
            .output()
            .unwrap();
        assert!(!out.status.success(), "{name} should fail");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(expect), "{name}: expected {expect:?} in {err}");
    }
}

#[test]
fn migrate_dry_run_without_a_cluster_says_what_to_do() {
    // no keypair in the (temporary) home: the error says how to get one
    let out = cover()
        .args(["migrate", "apply", "--config"])
        .arg(format!("{}/../../migrations/demo.toml", env!("CARGO_MANIFEST_DIR")))
        .arg("--dry-run")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("keypair"), "{err}");
}

#[test]
fn risk_on_the_shipped_portfolio_reports_every_field_and_plots() {
    let dir = std::env::temp_dir().join(format!("cover-risk-{}", std::process::id()));
    let out = cover()
        .args(["risk", "--portfolio"])
        .arg(format!("{}/../../risk/portfolio.toml", env!("CARGO_MANIFEST_DIR")))
        .args(["--scenarios", "50000", "--seed", "7", "--json", "--out"])
        .arg(&dir)
        .output()
        .unwrap();
    let v = json(&out);
    // every field of the engine's report (its own tests check their names and values)
    let report: coverage_risk::Report = serde_json::from_value(v.clone()).expect("the engine's report");
    assert_eq!(
        (report.scenarios, report.markets.len(), report.tranches.len()),
        (50_000, 2, 2)
    );
    assert!(report.es_99_5 >= report.var_99_5);
    assert!(dir.join("risk.json").exists());
    for f in ["loss_exceedance", "tranche_losses"] {
        assert!(std::fs::read_to_string(dir.join(format!("{f}.svg")))
            .unwrap()
            .starts_with("<svg"));
        assert!(is_png(&dir.join(format!("{f}.png"))), "{f}.png");
    }
    // seeded: the same run twice gives the same report
    let again = cover()
        .args(["risk", "--portfolio"])
        .arg(format!("{}/../../risk/portfolio.toml", env!("CARGO_MANIFEST_DIR")))
        .args(["--scenarios", "50000", "--seed", "7", "--json"])
        .output()
        .unwrap();
    assert_eq!(json(&again), v);
}

#[test]
fn risk_on_the_demo_pool_reads_its_capital_and_cover() {
    let out = cover()
        .args(["risk", "--demo", "--scenarios", "20000", "--json"])
        .output()
        .unwrap();
    let v = json(&out);
    let tranches = v["tranches"].as_array().unwrap();
    assert_eq!(tranches.len(), 2);
    // after the USDC event: the USDT market's 200 000 of cover remains
    assert_eq!(v["markets"].as_array().unwrap().len(), 1);
    assert_eq!(v["markets"][0]["cover"].as_f64(), Some(200_000.0));
}

#[test]
fn a_bad_portfolio_gets_a_clear_error() {
    let dir = std::env::temp_dir().join(format!("cover-badrisk-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bad.toml");
    std::fs::write(
        &path,
        "horizon_days = 365\ncapital = [1000.0]\n[[market]]\nname = \"A\"\ncover = 10.0\nannual_probability = 1.5\npayout = \"binary\"\n",
    )
    .unwrap();
    let out = cover().args(["risk", "--portfolio"]).arg(&path).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("A") && err.to_lowercase().contains("probab"), "{err}");
}

/// A market's history derived by running the backtest over a price file: the
/// SVB series triggers a 1-hour market (one year, one event) but not a
/// 24-hour one (one year, no event); the posterior follows.
#[test]
fn risk_history_from_price_files_runs_the_backtest() {
    let dir = std::env::temp_dir().join(format!("cover-risk-prices-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(
        format!("{}/../../data/usdc-2023-03-svb.csv", env!("CARGO_MANIFEST_DIR")),
        dir.join("svb.csv"),
    )
    .unwrap();
    let run = |duration: u32| {
        let path = dir.join(format!("p{duration}.toml"));
        std::fs::write(
            &path,
            format!(
                "horizon_days = 365\ncapital = [1000000.0]\n[[market]]\nname = \"USDC\"\ncover = 500000.0\n\
                 prior = {{ alpha = 1.0, beta = 19.0 }}\n\
                 history = {{ prices = [\"svb.csv\"], strike = 0.95, recovery = 0.97, duration = {duration}, \
                 max_gap = 3600, max_conf_bps = 500 }}\n"
            ),
        )
        .unwrap();
        let out = cover()
            .args(["risk", "--portfolio"])
            .arg(&path)
            .args(["--scenarios", "10000", "--json"])
            .output()
            .unwrap();
        let v = json(&out);
        let post = &v["markets"][0]["posterior"];
        (post["alpha"].as_f64().unwrap(), post["beta"].as_f64().unwrap())
    };
    assert_eq!(run(3_600), (2.0, 19.0));
    assert_eq!(run(86_400), (1.0, 20.0));
    // without the backtest (the library alone) such a history is refused, clearly
    let text = std::fs::read_to_string(dir.join("p3600.toml")).unwrap();
    let e = coverage_risk::Portfolio::from_toml(&text).unwrap_err().to_string();
    assert!(e.contains("history.prices") && e.contains("backtest"), "{e}");
}

/// Read-only commands need no keypair: on a machine without a Solana CLI
/// keypair they get as far as the cluster (here: nothing listens on the
/// port), while a command that signs says how to get a keypair.
#[test]
fn read_only_commands_need_no_keypair() {
    let pool = "7qEy1xerYkAwNYNxq3KoQBVsEWk86iqDbPHj5SrJBSEz";
    let url = "http://127.0.0.1:9";
    for args in [
        vec!["pool", "show", "--pool", pool],
        vec!["market", "list", "--pool", pool],
        vec!["market", "show", pool],
        vec!["stake", "show", "--pool", pool, "--owner", pool],
        vec!["cover", "quote", "--market", pool, "--amount", "10", "--days", "30"],
        vec!["cover", "list", "--market", pool],
        vec!["gov", "pending", "--pool", pool],
    ] {
        let out = cover().args(&args).args(["--url", url]).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}: nothing listens there");
        assert!(!err.contains("keypair"), "{args:?} asked for a keypair: {err}");
    }
    // whose position, without --owner and without a keypair: say so
    let out = cover()
        .args(["stake", "show", "--pool", pool, "--url", url])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("--owner"));
    // a command that signs asks for one
    let out = cover()
        .args([
            "stake",
            "deposit",
            "--pool",
            pool,
            "--tranche",
            "0",
            "--amount",
            "1",
            "--url",
            url,
        ])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("keypair"));
}
