//! Two small standalone SVG charts of a [`Report`]: the loss exceedance
//! curve and the tranches' loss probabilities.

use crate::sim::Report;
use std::fmt::Write;

const W: f64 = 640.0;
const H: f64 = 400.0;
const LEFT: f64 = 80.0;
const RIGHT: f64 = 24.0;
const TOP: f64 = 48.0;
const BOTTOM: f64 = 56.0;

/// Escapes text for an SVG (XML) text node or attribute.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// `$1.2M`, `$350k`, `$12`.
pub fn fmt_usd(v: f64) -> String {
    let a = v.abs();
    if a >= 1e9 {
        format!("${:.3}B", v / 1e9).replace(".000B", "B")
    } else if a >= 1e6 {
        let s = format!("${:.2}M", v / 1e6);
        s.replace(".00M", "M")
    } else if a >= 1e3 {
        format!("${:.0}k", v / 1e3)
    } else {
        format!("${v:.0}")
    }
}

fn header(out: &mut String, title: &str, subtitle: &str) {
    let _ = write!(
        out,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12">
<rect width="{W}" height="{H}" fill="#ffffff"/>
<text x="{LEFT}" y="20" font-size="15" font-weight="bold">{}</text>
<text x="{LEFT}" y="36" fill="#555555">{}</text>
"##,
        esc(title),
        esc(subtitle)
    );
}

/// A "nice" step (1, 2 or 5 × 10ⁿ) giving about `n` ticks up to `max`.
fn nice_step(max: f64, n: f64) -> f64 {
    let raw = (max / n).max(f64::MIN_POSITIVE);
    let mag = 10f64.powf(raw.log10().floor());
    let f = raw / mag;
    let m = if f <= 1.0 {
        1.0
    } else if f <= 2.0 {
        2.0
    } else if f <= 5.0 {
        5.0
    } else {
        10.0
    };
    m * mag
}

/// Loss exceedance curve: P(total paid > x) against x, log scale, with the
/// 99.5 % VaR and the pool's capital marked.
pub fn svg_exceedance(r: &Report) -> String {
    let mut out = String::new();
    header(
        &mut out,
        "Loss exceedance curve",
        &format!(
            "P(total paid > x) within {} days · {} scenarios · capital {}",
            r.horizon_days,
            r.scenarios,
            fmt_usd(r.total_capital)
        ),
    );
    let pw = W - LEFT - RIGHT;
    let ph = H - TOP - BOTTOM;
    let x_max = r.exceedance.last().map(|p| p.loss).unwrap_or(1.0).max(1e-9);
    let p_min = 1.0 / (r.scenarios.max(10) as f64);
    let decades = (-p_min.log10()).ceil().max(1.0);
    let x = |v: f64| LEFT + pw * (v / x_max).clamp(0.0, 1.0);
    let y = |p: f64| TOP + ph * (-p.max(10f64.powf(-decades)).log10() / decades).clamp(0.0, 1.0);

    // grid and axes
    for d in 0..=(decades as i32) {
        let yy = TOP + ph * d as f64 / decades;
        let _ = writeln!(
            out,
            r##"<line x1="{LEFT}" y1="{yy:.1}" x2="{:.1}" y2="{yy:.1}" stroke="#e5e5e5"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"##,
            LEFT + pw,
            LEFT - 6.0,
            yy + 4.0,
            if d == 0 { "1".to_string() } else { format!("1e-{d}") }
        );
    }
    let step = nice_step(x_max, 5.0);
    let mut t = 0.0;
    while t <= x_max * 1.0001 {
        let xx = x(t);
        let _ = writeln!(
            out,
            r##"<line x1="{xx:.1}" y1="{TOP}" x2="{xx:.1}" y2="{:.1}" stroke="#e5e5e5"/><text x="{xx:.1}" y="{:.1}" text-anchor="middle">{}</text>"##,
            TOP + ph,
            TOP + ph + 16.0,
            fmt_usd(t)
        );
        t += step;
    }
    let _ = writeln!(
        out,
        r##"<rect x="{LEFT}" y="{TOP}" width="{pw}" height="{ph}" fill="none" stroke="#333333"/>
<text x="{:.1}" y="{:.1}" text-anchor="middle">total paid x</text>
<text transform="translate(18 {:.1}) rotate(-90)" text-anchor="middle">P(loss &gt; x)</text>"##,
        LEFT + pw / 2.0,
        H - 12.0,
        TOP + ph / 2.0
    );

    // the curve, as steps, down to the last level with any scenario
    let mut pts = String::new();
    let mut prev: Option<(f64, f64)> = None;
    for p in &r.exceedance {
        if p.probability <= 0.0 {
            // no scenario lost more: the curve drops off the chart here
            if let Some((_, py)) = prev {
                let xx = x(p.loss);
                let _ = write!(pts, "{xx:.1},{py:.1} {xx:.1},{:.1}", TOP + ph);
            }
            break;
        }
        let (xx, yy) = (x(p.loss), y(p.probability));
        if let Some((_, py)) = prev {
            let _ = write!(pts, "{xx:.1},{py:.1} ");
        }
        let _ = write!(pts, "{xx:.1},{yy:.1} ");
        prev = Some((xx, yy));
    }
    let _ = writeln!(
        out,
        r##"<polyline points="{}" fill="none" stroke="#1f5fbf" stroke-width="2"/>"##,
        pts.trim_end()
    );

    // markers
    for (v, label, color) in [
        (r.var_99_5, format!("VaR 99.5% {}", fmt_usd(r.var_99_5)), "#c0392b"),
        (
            r.total_capital,
            format!("capital {}", fmt_usd(r.total_capital)),
            "#27ae60",
        ),
    ] {
        if v > 0.0 && v <= x_max * 1.0001 {
            let xx = x(v);
            let anchor = if xx > LEFT + pw * 0.7 { "end" } else { "start" };
            let dx = if anchor == "end" { -4.0 } else { 4.0 };
            let ly = if color == "#c0392b" { TOP + 14.0 } else { TOP + 30.0 };
            let _ = writeln!(
                out,
                r##"<line x1="{xx:.1}" y1="{TOP}" x2="{xx:.1}" y2="{:.1}" stroke="{color}" stroke-dasharray="5,4"/><text x="{:.1}" y="{ly:.1}" fill="{color}" text-anchor="{anchor}">{}</text>"##,
                TOP + ph,
                xx + dx,
                esc(&label)
            );
        }
    }
    out.push_str("</svg>\n");
    out
}

/// Bars of each tranche's probability of losing anything, junior first,
/// labelled with the probability and the expected loss.
pub fn svg_tranches(r: &Report) -> String {
    let mut out = String::new();
    header(
        &mut out,
        "Tranche loss probabilities",
        &format!(
            "P(tranche loses anything) within {} days · {} scenarios",
            r.horizon_days, r.scenarios
        ),
    );
    let pw = W - LEFT - RIGHT;
    let ph = H - TOP - BOTTOM;
    let max_p = r.tranches.iter().map(|t| t.p_loss).fold(0.0, f64::max);
    let step = nice_step((max_p * 1.15).max(1e-6), 4.0);
    let top = (max_p * 1.15 / step).ceil().max(1.0) * step;
    let y = |p: f64| TOP + ph * (1.0 - p / top);
    let mut t = 0.0;
    while t <= top * 1.0001 {
        let yy = y(t);
        let _ = writeln!(
            out,
            r##"<line x1="{LEFT}" y1="{yy:.1}" x2="{:.1}" y2="{yy:.1}" stroke="#e5e5e5"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}%</text>"##,
            LEFT + pw,
            LEFT - 6.0,
            yy + 4.0,
            trim_pct(t * 100.0)
        );
        t += step;
    }
    let _ = writeln!(
        out,
        r##"<rect x="{LEFT}" y="{TOP}" width="{pw}" height="{ph}" fill="none" stroke="#333333"/>
<text transform="translate(18 {:.1}) rotate(-90)" text-anchor="middle">P(loss &gt; 0)</text>"##,
        TOP + ph / 2.0
    );
    let k = r.tranches.len().max(1) as f64;
    let slot = pw / k;
    let colors = ["#c0392b", "#e67e22", "#2980b9", "#27ae60"];
    for (j, tr) in r.tranches.iter().enumerate() {
        let bw = slot * 0.55;
        let bx = LEFT + slot * j as f64 + (slot - bw) / 2.0;
        let by = y(tr.p_loss);
        let _ = writeln!(
            out,
            r##"<rect x="{bx:.1}" y="{by:.1}" width="{bw:.1}" height="{:.1}" fill="{}"/>
<text x="{:.1}" y="{:.1}" text-anchor="middle" font-weight="bold">{:.3}%</text>
<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>
<text x="{:.1}" y="{:.1}" text-anchor="middle" fill="#555555">EL {} of {}</text>"##,
            (TOP + ph - by).max(0.0),
            colors[j % colors.len()],
            bx + bw / 2.0,
            by - 6.0,
            tr.p_loss * 100.0,
            bx + bw / 2.0,
            TOP + ph + 16.0,
            esc(&tr.name),
            bx + bw / 2.0,
            TOP + ph + 32.0,
            fmt_usd(tr.expected_loss),
            fmt_usd(tr.capital)
        );
    }
    out.push_str("</svg>\n");
    out
}

fn trim_pct(v: f64) -> String {
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}
