//! The two charts of a risk [`Report`]: the loss exceedance curve and the
//! tranches' loss probabilities.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{
    heading, legend, mesh, percent, text, usd, DrawResult, Figure, Mark, BLUE, GREEN, INK, MUTED, RED, TRANCHES,
};
use crate::sim::Report;

/// Width of the y axis' label area, and so the plot's left edge.
const Y_AXIS: u32 = 86;

/// The loss exceedance curve, `P(total paid > x)` against `x` on a log
/// scale, with the 99.5 % VaR and the pool's capital marked.
pub struct Exceedance<'a>(&'a Report);

/// The loss exceedance chart of `r`.
pub fn exceedance(r: &Report) -> Exceedance<'_> {
    Exceedance(r)
}

impl Figure for Exceedance<'_> {
    fn size(&self) -> (u32, u32) {
        (800, 500)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let r = self.0;
        let area = heading(root, "Loss exceedance curve", &run_line(r, "P(total paid > x)"))?;
        let var_label = format!("VaR 99.5 % {}", usd(r.var_99_5));
        let capital_label = format!("capital {}", usd(r.total_capital));
        let mut keys = vec![
            ("P(total paid > x)", Mark::Line(BLUE, 2)),
            (capital_label.as_str(), Mark::Line(GREEN, 3)),
            (var_label.as_str(), Mark::Dashed(RED, 2)),
        ];
        let together = "(VaR = capital: the worst 0.5 % of scenarios take all of it)";
        if (r.var_99_5 - r.total_capital).abs() < 0.5 {
            keys.push((together, Mark::Note));
        }
        let area = legend(&area, Y_AXIS as i32, &keys)?;

        let last = r.exceedance.last().map_or(1.0, |p| p.loss);
        let x_max = last.max(r.total_capital).max(r.var_99_5).max(1.0) * 1.04;
        // one decade below the smallest probability a scenario can show
        let p_min = 10f64.powf((1.0 / r.scenarios.max(10) as f64).log10().floor());
        let mut chart = ChartBuilder::on(&area)
            .margin_right(28)
            .margin_bottom(8)
            .x_label_area_size(48)
            .y_label_area_size(Y_AXIS)
            // (a hair below p_min, so that its decade gets a tick and a label)
            .build_cartesian_2d(0.0..x_max, (p_min * 0.999..1.0).log_scale())?;
        mesh(&mut chart.configure_mesh())
            .x_labels(7)
            .x_label_formatter(&|x| usd(*x))
            .y_label_formatter(&|p| percent(*p))
            .x_desc("total paid x")
            .y_desc("P(total paid > x)")
            .draw()?;

        // the curve as steps, down to the last level any scenario reached
        let mut steps = Vec::with_capacity(2 * r.exceedance.len());
        for p in &r.exceedance {
            if let Some(&(_, before)) = steps.last() {
                steps.push((p.loss, before));
            }
            if p.probability <= 0.0 {
                steps.push((p.loss, p_min));
                break;
            }
            steps.push((p.loss, p.probability));
        }
        chart.draw_series(LineSeries::new(steps, BLUE.stroke_width(2)))?;

        // capital under VaR, so that both show when they are equal
        let vertical = |x: f64| [(x, p_min), (x, 1.0)];
        chart.draw_series(LineSeries::new(vertical(r.total_capital), GREEN.stroke_width(3)))?;
        if r.var_99_5 > 0.0 {
            chart.draw_series(DashedLineSeries::new(vertical(r.var_99_5), 6, 5, RED.stroke_width(2)))?;
        }
        Ok(())
    }
}

/// Bars of each tranche's probability of losing anything, junior first,
/// labelled with the probability and the expected loss.
pub struct TrancheLosses<'a>(&'a Report);

/// The tranche loss chart of `r`.
pub fn tranche_losses(r: &Report) -> TrancheLosses<'_> {
    TrancheLosses(r)
}

impl Figure for TrancheLosses<'_> {
    fn size(&self) -> (u32, u32) {
        (800, 460)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let r = self.0;
        let area = heading(
            root,
            "Tranche loss probabilities",
            &run_line(r, "P(tranche loses anything)"),
        )?;
        let area = legend(
            &area,
            Y_AXIS as i32,
            &[(
                "above each bar: the probability, and the mean loss (EL) against the capital",
                Mark::Note,
            )],
        )?;
        let k = r.tranches.len().max(1) as u32;
        let max_p = r.tranches.iter().map(|t| t.p_loss).fold(0.0, f64::max);
        // room above the tallest bar for its two labels
        let top = (max_p * 1.3).max(1e-6);
        let mut chart = ChartBuilder::on(&area)
            .margin_right(28)
            .margin_bottom(8)
            .x_label_area_size(40)
            .y_label_area_size(Y_AXIS)
            .build_cartesian_2d((0..k - 1).into_segmented(), 0.0..top)?;
        let names = |x: &SegmentValue<u32>| match x {
            SegmentValue::CenterOf(j) => r.tranches.get(*j as usize).map_or(String::new(), |t| t.name.clone()),
            _ => String::new(),
        };
        mesh(&mut chart.configure_mesh())
            .disable_x_mesh()
            .x_label_style(text(14))
            .x_label_formatter(&names)
            .y_label_formatter(&|p| percent(*p))
            .y_desc("P(loss > 0)")
            .draw()?;
        chart.draw_series(r.tranches.iter().enumerate().map(|(j, t)| {
            let j = j as u32;
            let color = TRANCHES[j as usize % TRANCHES.len()];
            let mut bar = Rectangle::new(
                [(SegmentValue::Exact(j), 0.0), (SegmentValue::Exact(j + 1), t.p_loss)],
                color.filled(),
            );
            bar.set_margin(0, 0, 60, 60);
            bar
        }))?;
        let above = Pos::new(HPos::Center, VPos::Bottom);
        let bold = ("sans-serif", 15, FontStyle::Bold).into_font().color(&INK).pos(above);
        let note = text(13).color(&MUTED).pos(above);
        chart.draw_series(r.tranches.iter().enumerate().map(|(j, t)| {
            let at = (SegmentValue::CenterOf(j as u32), t.p_loss);
            EmptyElement::at(at)
                + Text::new(percent(t.p_loss), (0, -24), bold.clone())
                + Text::new(
                    format!("EL {} of {}", usd(t.expected_loss), usd(t.capital)),
                    (0, -6),
                    note.clone(),
                )
        }))?;
        Ok(())
    }
}

/// `WHAT within 365 days · 1 000 000 scenarios · seed 42`: a subtitle.
fn run_line(r: &Report, what: &str) -> String {
    format!(
        "{what} within {} days · {} scenarios · seed {}",
        r.horizon_days,
        thousands(r.scenarios),
        r.seed
    )
}

/// `1 000 000`: a count in groups of three.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_grouped() {
        assert_eq!(thousands(1_000_000), "1 000 000");
        assert_eq!(thousands(50_001), "50 001");
        assert_eq!(thousands(999), "999");
    }
}
