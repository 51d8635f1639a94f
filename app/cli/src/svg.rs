//! Small SVG line charts (no dependencies): price against strike and
//! recovery with the streak and trigger marked; share prices over time.
//! Every label is escaped (tranche names come from deployment files).

use std::fmt::Write;

use coverage_risk::svg::esc;

/// One line series.
pub struct Series<'a> {
    /// Legend label.
    pub label: &'a str,
    /// Stroke colour.
    pub color: &'a str,
    /// (x, y) points.
    pub points: &'a [(f64, f64)],
}

/// A chart panel.
pub struct Panel<'a> {
    /// Title.
    pub title: &'a str,
    /// Lines.
    pub series: Vec<Series<'a>>,
    /// Horizontal reference lines (y, label, colour).
    pub hlines: Vec<(f64, &'a str, &'a str)>,
    /// Shaded x spans (from, to, label, colour).
    pub spans: Vec<(f64, f64, &'a str, &'a str)>,
    /// Vertical markers (x, label, colour).
    pub vlines: Vec<(f64, &'a str, &'a str)>,
    /// y axis label.
    pub y_label: &'a str,
}

const W: f64 = 960.0;
const PH: f64 = 300.0;
const ML: f64 = 70.0;
const MR: f64 = 20.0;
const MT: f64 = 40.0;
const MB: f64 = 50.0;

/// Renders panels stacked vertically; x values are unix seconds (labelled as dates).
pub fn render(panels: &[Panel]) -> String {
    let h = panels.len() as f64 * (PH + MT + MB);
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{h}" viewBox="0 0 {W} {h}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    for (i, p) in panels.iter().enumerate() {
        let top = i as f64 * (PH + MT + MB) + MT;
        panel(&mut s, p, top);
    }
    s.push_str("</svg>\n");
    s
}

fn panel(s: &mut String, p: &Panel, top: f64) {
    let xs = p.series.iter().flat_map(|x| x.points.iter().map(|p| p.0));
    let (x0, x1) = xs.clone().fold((f64::MAX, f64::MIN), |(a, b), x| (a.min(x), b.max(x)));
    let ys = p
        .series
        .iter()
        .flat_map(|x| x.points.iter().map(|p| p.1))
        .chain(p.hlines.iter().map(|h| h.0));
    let (mut y0, mut y1) = ys.fold((f64::MAX, f64::MIN), |(a, b), y| (a.min(y), b.max(y)));
    let pad = ((y1 - y0) * 0.08).max(1e-6);
    y0 -= pad;
    y1 += pad;
    let (x1, x0) = if x1 > x0 { (x1, x0) } else { (x0 + 1.0, x0) };
    let px = |x: f64| ML + (x - x0) / (x1 - x0) * (W - ML - MR);
    let py = |y: f64| top + PH - (y - y0) / (y1 - y0) * PH;
    let _ = writeln!(
        s,
        r#"<text x="{ML}" y="{}" font-size="15" font-weight="bold">{}</text>"#,
        top - 14.0,
        esc(p.title)
    );
    let _ = writeln!(
        s,
        r##"<rect x="{ML}" y="{top}" width="{}" height="{PH}" fill="none" stroke="#999"/>"##,
        W - ML - MR
    );
    for (a, b, label, color) in &p.spans {
        let label = esc(label);
        let _ = writeln!(
            s,
            r#"<rect x="{:.1}" y="{top}" width="{:.1}" height="{PH}" fill="{color}" opacity="0.18"/><text x="{:.1}" y="{:.1}" fill="{color}">{label}</text>"#,
            px(*a),
            (px(*b) - px(*a)).max(1.0),
            px(*a) + 3.0,
            top + 14.0
        );
    }
    for k in 0..=4 {
        let y = y0 + (y1 - y0) * k as f64 / 4.0;
        let _ = writeln!(
            s,
            r##"<text x="{:.1}" y="{:.1}" text-anchor="end" fill="#444">{:.4}</text><line x1="{ML}" x2="{:.1}" y1="{:.1}" y2="{:.1}" stroke="#eee"/>"##,
            ML - 6.0,
            py(y) + 4.0,
            y,
            W - MR,
            py(y),
            py(y)
        );
    }
    for k in 0..=5 {
        let x = x0 + (x1 - x0) * k as f64 / 5.0;
        let date = crate::output::time(x as i64);
        let _ = writeln!(
            s,
            r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" fill="#444">{}</text>"##,
            px(x),
            top + PH + 18.0,
            &date[..16]
        );
    }
    let _ = writeln!(
        s,
        r##"<text x="14" y="{:.1}" transform="rotate(-90 14 {:.1})" text-anchor="middle" fill="#444">{}</text>"##,
        top + PH / 2.0,
        top + PH / 2.0,
        esc(p.y_label)
    );
    for (y, label, color) in &p.hlines {
        let label = esc(label);
        let _ = writeln!(
            s,
            r#"<line x1="{ML}" x2="{:.1}" y1="{:.1}" y2="{:.1}" stroke="{color}" stroke-dasharray="6 4"/><text x="{:.1}" y="{:.1}" text-anchor="end" fill="{color}">{label}</text>"#,
            W - MR,
            py(*y),
            py(*y),
            W - MR - 4.0,
            py(*y) - 4.0
        );
    }
    for (x, label, color) in &p.vlines {
        let label = esc(label);
        let _ = writeln!(
            s,
            r#"<line x1="{:.1}" x2="{:.1}" y1="{top}" y2="{:.1}" stroke="{color}" stroke-width="2"/><text x="{:.1}" y="{:.1}" fill="{color}">{label}</text>"#,
            px(*x),
            px(*x),
            top + PH,
            px(*x) + 4.0,
            top + 30.0
        );
    }
    for (i, ser) in p.series.iter().enumerate() {
        let mut d = String::new();
        for (j, (x, y)) in ser.points.iter().enumerate() {
            let _ = write!(d, "{}{:.1},{:.1}", if j == 0 { "M" } else { " L" }, px(*x), py(*y));
        }
        let _ = writeln!(
            s,
            r#"<path d="{d}" fill="none" stroke="{}" stroke-width="1.6"/>"#,
            ser.color
        );
        let lx = ML + 10.0 + i as f64 * 180.0;
        let _ = writeln!(
            s,
            r#"<line x1="{lx}" x2="{}" y1="{:.1}" y2="{:.1}" stroke="{}" stroke-width="3"/><text x="{}" y="{:.1}">{}</text>"#,
            lx + 20.0,
            top + PH + 36.0,
            top + PH + 36.0,
            ser.color,
            lx + 26.0,
            top + PH + 40.0,
            esc(ser.label)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_from_deployment_files_are_escaped() {
        let points = [(0.0, 1.0), (1.0, 2.0)];
        let svg = render(&[Panel {
            title: "a <b> & c",
            series: vec![Series {
                label: "</text><script>x</script>",
                color: "#000",
                points: &points,
            }],
            hlines: vec![(1.5, "\"q\"", "#111")],
            spans: vec![],
            vlines: vec![],
            y_label: "y<",
        }]);
        assert!(!svg.contains("<script>") && !svg.contains("<b>"), "{svg}");
        assert!(svg.contains("a &lt;b&gt; &amp; c") && svg.contains("&lt;/text&gt;&lt;script&gt;"));
        assert!(svg.contains("&quot;q&quot;") && svg.contains("y&lt;"));
    }
}
