//! `cover demo`'s chart, drawn with plotters in the style of the risk
//! engine's charts (`coverage_risk::plot`): the price against the market's
//! strike and recovery with the streak and the trigger marked, and the
//! tranches' share prices, on a date axis in UTC. Labels come from deployment
//! files; the SVG backend escapes them.

use chrono::{DateTime, Timelike, Utc};
use coverage_risk::plot::{heading, legend, mesh, DrawResult, Figure, Mark, GREEN, INK, MUTED, ORANGE, RED, TRANCHES};
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;

/// The demo's chart.
pub struct DemoChart<'a> {
    /// Title of the whole chart.
    pub title: &'a str,
    /// Subtitle: the market's terms.
    pub subtitle: &'a str,
    /// (unix time, price) of the replayed series.
    pub prices: &'a [(f64, f64)],
    /// The market's strike and recovery prices.
    pub strike: f64,
    /// See `strike`.
    pub recovery: f64,
    /// Start of the triggering streak and the trigger time (unix), if it triggered.
    pub streak: Option<(i64, i64)>,
    /// Each tranche's name and (unix time, share price), junior first.
    pub tranches: Vec<(&'a str, &'a [(f64, f64)])>,
}

/// Width of the y axis' label area, and so the plots' left edge.
const Y_AXIS: u32 = 70;

fn utc(unix: f64) -> DateTime<Utc> {
    DateTime::from_timestamp(unix as i64, 0).unwrap_or_default()
}

/// `Mar 11`, or `Mar 11 12:00` off midnight.
fn date_label(t: &DateTime<Utc>) -> String {
    if t.hour() == 0 && t.minute() == 0 {
        t.format("%b %-d").to_string()
    } else {
        t.format("%b %-d %H:%M").to_string()
    }
}

/// `lo..hi` padded by 6 % of its span, for data that should not touch the frame.
fn padded(lo: f64, hi: f64) -> std::ops::Range<f64> {
    let pad = ((hi - lo) * 0.06).max(1e-6);
    lo - pad..hi + pad
}

/// A label formatter for about `n` round ticks over `range`: as many
/// decimals as the tick step needs.
fn ticks(range: &std::ops::Range<f64>, n: usize) -> impl Fn(&f64) -> String {
    let decimals = coverage_risk::plot::decimals((range.end - range.start) / n as f64);
    move |v| format!("{v:.decimals$}")
}

impl DemoChart<'_> {
    /// Whole days (UTC) around every point.
    fn days(&self) -> std::ops::Range<DateTime<Utc>> {
        let times = self
            .prices
            .iter()
            .chain(self.tranches.iter().flat_map(|t| t.1.iter()))
            .map(|p| p.0 as i64);
        let (lo, hi) = times.fold((i64::MAX, i64::MIN), |(a, b), t| (a.min(t), b.max(t)));
        let (lo, hi) = if lo <= hi { (lo, hi) } else { (0, 86_400) };
        let day = 86_400;
        utc((lo.div_euclid(day) * day) as f64)..utc(((hi.div_euclid(day) + 1) * day) as f64)
    }

    /// The streak as a band and the trigger as a line, over `y`.
    fn event<DB: DrawingBackend>(
        &self,
        chart: &mut ChartContext<DB, Cartesian2d<RangedDateTime<DateTime<Utc>>, RangedCoordf64>>,
        y: &std::ops::Range<f64>,
    ) -> DrawResult<DB> {
        if let Some((start, trigger)) = self.streak {
            let (a, b) = (utc(start as f64), utc(trigger as f64));
            chart.draw_series([Rectangle::new([(a, y.start), (b, y.end)], ORANGE.mix(0.25).filled())])?;
            chart.draw_series(LineSeries::new([(b, y.start), (b, y.end)], RED.stroke_width(2)))?;
        }
        Ok(())
    }

    fn trigger_label(&self) -> Option<String> {
        self.streak
            .map(|(_, t)| format!("trigger {} UTC", utc(t as f64).format("%b %-d %H:%M")))
    }

    fn price_panel<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let strike = format!("strike {}", self.strike);
        let recovery = format!("recovery {}", self.recovery);
        let trigger = self.trigger_label();
        let mut keys = vec![
            ("USDC/USD (Pyth)", Mark::Line(INK, 2)),
            (strike.as_str(), Mark::Dashed(RED, 2)),
            (recovery.as_str(), Mark::Dashed(GREEN, 2)),
        ];
        if let Some(trigger) = &trigger {
            keys.push(("streak below the strike", Mark::Band(ORANGE)));
            keys.push((trigger.as_str(), Mark::Line(RED, 2)));
        }
        let area = legend(&heading(area, "Price and trigger", "")?, Y_AXIS as i32, &keys)?;
        let ys = self.prices.iter().map(|p| p.1).chain([self.strike, self.recovery]);
        let (lo, hi) = ys.fold((f64::MAX, f64::MIN), |(a, b), y| (a.min(y), b.max(y)));
        let y = padded(lo, hi);
        let mut chart = ChartBuilder::on(&area)
            .margin_right(36)
            .x_label_area_size(30)
            .y_label_area_size(Y_AXIS)
            .build_cartesian_2d(self.days(), y.clone())?;
        mesh(&mut chart.configure_mesh())
            .x_labels(12)
            .y_labels(8)
            .x_label_formatter(&date_label)
            .y_label_formatter(&ticks(&y, 8))
            .y_desc("USD")
            .draw()?;
        self.event(&mut chart, &y)?;
        for (level, color) in [(self.strike, RED), (self.recovery, GREEN)] {
            let days = self.days();
            chart.draw_series(DashedLineSeries::new(
                [(days.start, level), (days.end, level)],
                8,
                6,
                color.stroke_width(2),
            ))?;
        }
        chart.draw_series(LineSeries::new(
            self.prices.iter().map(|&(t, p)| (utc(t), p)),
            INK.stroke_width(2),
        ))?;
        Ok(())
    }

    fn share_panel<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let k = self.tranches.len();
        // drawn senior first, each wider than the one below it: where they
        // are equal (every tranche at its deposit price until the trigger),
        // the junior line runs inside the senior one instead of hiding under it
        let width = |j: usize| 2 + 3 * j as u32;
        let mut keys: Vec<(&str, Mark)> = self
            .tranches
            .iter()
            .enumerate()
            .map(|(j, t)| (t.0, Mark::Line(TRANCHES[j % TRANCHES.len()], width(j))))
            .collect();
        if k > 1 {
            keys.push(("(equal until the trigger: junior drawn inside senior)", Mark::Note));
        }
        let area = legend(&heading(area, "Tranche share prices", "")?, Y_AXIS as i32, &keys)?;
        let hi = self
            .tranches
            .iter()
            .flat_map(|t| t.1.iter().map(|p| p.1))
            .fold(1.0, f64::max);
        let y = 0.0..hi * 1.12;
        let mut chart = ChartBuilder::on(&area)
            .margin_right(36)
            .margin_bottom(4)
            .x_label_area_size(48)
            .y_label_area_size(Y_AXIS)
            .build_cartesian_2d(self.days(), y.clone())?;
        mesh(&mut chart.configure_mesh())
            .x_labels(12)
            .y_labels(7)
            .x_label_formatter(&date_label)
            .y_label_formatter(&ticks(&y, 7))
            .x_desc("March 2023, UTC")
            .y_desc("collateral per share")
            .draw()?;
        self.event(&mut chart, &y)?;
        for (j, (_, points)) in self.tranches.iter().enumerate().rev() {
            let color = TRANCHES[j % TRANCHES.len()];
            chart.draw_series(LineSeries::new(
                points.iter().map(|&(t, p)| (utc(t), p)),
                color.stroke_width(width(j)),
            ))?;
        }
        Ok(())
    }
}

impl Figure for DemoChart<'_> {
    fn size(&self) -> (u32, u32) {
        (1000, 860)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let area = heading(root, self.title, self.subtitle)?;
        let (top, bottom) = area.split_vertically(area.dim_in_pixel().1 / 2);
        self.price_panel(&top)?;
        self.share_panel(&bottom)?;
        // a faint rule between the two panels
        let w = root.dim_in_pixel().0 as i32;
        bottom.draw(&PathElement::new(
            [(16, 0), (w - 16, 0)],
            MUTED.mix(0.3).stroke_width(1),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart<'a>(title: &'a str, name: &'a str, points: &'a [(f64, f64)]) -> DemoChart<'a> {
        DemoChart {
            title,
            subtitle: "",
            prices: points,
            strike: 0.95,
            recovery: 0.97,
            streak: Some((1_678_523_400, 1_678_527_000)),
            tranches: vec![(name, points), ("senior", points)],
        }
    }

    #[test]
    fn labels_from_deployment_files_are_escaped() {
        let points = [(1_678_500_000.0, 1.0), (1_678_600_000.0, 0.9)];
        let svg = coverage_risk::plot::svg(&chart("a <b> & c", "</text><script>x</script>", &points)).unwrap();
        assert!(!svg.contains("<script>") && !svg.contains("<b>"), "{svg}");
        assert!(svg.contains("a &lt;b&gt; &amp; c") && svg.contains("&lt;/text&gt;&lt;script&gt;"));
    }

    #[test]
    fn dates_on_round_days_and_times_off_them() {
        assert_eq!(date_label(&utc(1_678_492_800.0)), "Mar 11");
        assert_eq!(date_label(&utc(1_678_527_000.0)), "Mar 11 09:30");
        // the axis spans whole days around the data
        let points = [(1_678_338_000.0, 1.0), (1_679_100_000.0, 1.0)];
        let days = chart("t", "junior", &points).days();
        assert_eq!(
            (days.start.timestamp(), days.end.timestamp()),
            (1_678_320_000, 1_679_184_000)
        );
        assert_eq!(ticks(&(0.88..1.03), 8)(&0.9), "0.90");
        assert_eq!(ticks(&(0.0..1.2), 7)(&0.4), "0.4");
    }
}
