//! Human tables and machine JSON.

/// Prints rows as an aligned table with a header to stdout.
pub fn table(header: &[&str], rows: &[Vec<String>]) {
    table_to(&mut std::io::stdout(), header, rows)
}

/// Writes rows as an aligned table with a header.
pub fn table_to(out: &mut dyn std::io::Write, header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            if i < widths.len() {
                widths[i] = widths[i].max(c.chars().count());
            }
        }
    }
    let mut line = |cells: Vec<String>| {
        let parts: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{:<w$}", c, w = widths[i]))
            .collect();
        let _ = writeln!(out, "{}", parts.join("  ").trim_end());
    };
    line(header.iter().map(|s| s.to_string()).collect());
    line(widths.iter().map(|w| "-".repeat(*w)).collect());
    for r in rows {
        line(r.clone());
    }
}

/// Key/value pairs as a two-column table on stdout.
pub fn pairs(rows: &[(&str, String)]) {
    pairs_to(&mut std::io::stdout(), rows)
}

/// Key/value pairs as a two-column table.
pub fn pairs_to(out: &mut dyn std::io::Write, rows: &[(&str, String)]) {
    let w = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    for (k, v) in rows {
        let _ = writeln!(out, "{k:<w$}  {v}");
    }
}

/// Base units → a decimal string with `decimals`.
pub fn amount(units: u64, decimals: u8) -> String {
    let d = 10u64.pow(u32::from(decimals));
    if decimals == 0 {
        return units.to_string();
    }
    format!("{}.{:0w$}", units / d, units % d, w = decimals as usize)
}

/// A decimal string → base units with `decimals` (exact; refuses more digits).
pub fn parse_amount(s: &str, decimals: u8) -> anyhow::Result<u64> {
    let s = s.trim().replace('_', "");
    let (int, frac) = s.split_once('.').unwrap_or((&s, ""));
    if frac.len() > decimals as usize {
        anyhow::bail!("{s} has more than {decimals} decimals");
    }
    let int: u64 = if int.is_empty() {
        0
    } else {
        int.parse().map_err(|_| anyhow::anyhow!("not an amount: {s}"))?
    };
    let mut f = frac.to_string();
    while f.len() < decimals as usize {
        f.push('0');
    }
    let frac: u64 = if f.is_empty() {
        0
    } else {
        f.parse().map_err(|_| anyhow::anyhow!("not an amount: {s}"))?
    };
    int.checked_mul(10u64.pow(u32::from(decimals)))
        .and_then(|v| v.checked_add(frac))
        .ok_or_else(|| anyhow::anyhow!("amount too large: {s}"))
}

/// Price units (1e-8 USD) → "0.95000000".
pub fn price(units: u64) -> String {
    format!("{}.{:08}", units / 100_000_000, units % 100_000_000)
}

/// A share price scaled by 1e9 → "1.000000000".
pub fn share_price(scaled: u64) -> String {
    format!("{}.{:09}", scaled / 1_000_000_000, scaled % 1_000_000_000)
}

/// Unix seconds → "2023-03-11 08:30:00 UTC".
pub fn time(unix: i64) -> String {
    match chrono::DateTime::from_timestamp(unix, 0) {
        Some(t) => t.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        None => format!("{unix} (out of range)"),
    }
}

static VERBOSE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// `-v`: show the bank's and the programs' logs (on stderr).
pub fn set_verbose(on: bool) {
    VERBOSE.store(on, std::sync::atomic::Ordering::Relaxed);
}

/// Whether `-v` was given.
pub fn verbose() -> bool {
    VERBOSE.load(std::sync::atomic::Ordering::Relaxed)
}

/// While the embedded bank runs, the program's `msg!` logs (printed to
/// stdout on the host) must not mix with the command's output: to stderr with
/// `-v`, else to /dev/null; returns a writer to the real stdout.
pub fn capture_program_logs() -> anyhow::Result<std::fs::File> {
    use anyhow::Context;
    coverage_sdk::bank::redirect_program_logs(verbose()).context("redirecting the programs' output")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(amount(1_234_567, 6), "1.234567");
        assert_eq!(parse_amount("1.5", 6).unwrap(), 1_500_000);
        assert_eq!(parse_amount("1000", 6).unwrap(), 1_000_000_000);
        assert!(parse_amount("1.0000001", 6).is_err());
        assert_eq!(price(95_000_000), "0.95000000");
        assert_eq!(time(1_678_523_400), "2023-03-11 08:30:00 UTC");
    }
}
