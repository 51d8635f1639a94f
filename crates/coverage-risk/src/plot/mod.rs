//! Charts drawn with plotters, as SVG and PNG: the shared style (fonts,
//! colours, headings, a legend row above the plot so it never covers data,
//! number formats) and the writers. The risk engine's two charts are in
//! [`report`]; `cover demo`'s is in the CLI and uses the same pieces.
//!
//! Plotters draws every chart as SVG, laying text out with the metrics of
//! DejaVu Sans, embedded from `fonts/` (its `ab_glyph` font support); the
//! PNG is that SVG rasterised by resvg at twice the size, with the same
//! embedded font, so it comes out the same on any machine, whatever fonts
//! it has. (Not plotters' own bitmap backend: its `ab_glyph` rasteriser, in
//! 0.3.7, drops each glyph's left bearing, and labels such as "(junior)" or
//! "0.1 %" come out unevenly spaced.)

pub mod report;

use std::io;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use plotters::chart::MeshStyle;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

pub use report::{exceedance, tranche_losses};

/// The result of drawing on a backend `DB`.
pub type DrawResult<DB> = Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

/// A chart that can be drawn on any plotters backend.
pub trait Figure {
    /// Width and height in pixels.
    fn size(&self) -> (u32, u32);
    /// Draws the chart on `root` (already filled white).
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB>;
}

/// DejaVu Sans, regular and bold (see `fonts/README.md`).
const FONTS: [(FontStyle, &[u8]); 2] = [
    (FontStyle::Normal, include_bytes!("../../fonts/DejaVuSans.ttf")),
    (FontStyle::Bold, include_bytes!("../../fonts/DejaVuSans-Bold.ttf")),
];

/// Registers the embedded fonts with plotters, once.
fn fonts() -> io::Result<()> {
    static DONE: OnceLock<Result<(), String>> = OnceLock::new();
    DONE.get_or_init(|| {
        for (style, bytes) in FONTS {
            plotters::style::register_font("sans-serif", style, bytes)
                .map_err(|_| "the embedded DejaVu Sans font does not load".to_string())?;
        }
        Ok(())
    })
    .clone()
    .map_err(io::Error::other)
}

/// resvg's options: the embedded fonts as its only fonts, DejaVu Sans as `sans-serif`.
fn raster_options() -> &'static resvg::usvg::Options<'static> {
    static OPTIONS: OnceLock<resvg::usvg::Options<'static>> = OnceLock::new();
    OPTIONS.get_or_init(|| {
        let mut options = resvg::usvg::Options::default();
        let db = options.fontdb_mut();
        for (_, bytes) in FONTS {
            db.load_font_data(bytes.to_vec());
        }
        db.set_sans_serif_family("DejaVu Sans");
        options
    })
}

/// Pixels per SVG pixel in the PNGs (sharp on high-density screens).
const PNG_SCALE: f32 = 2.0;

fn draw_on<DB: DrawingBackend>(fig: &impl Figure, root: DrawingArea<DB, Shift>) -> io::Result<()> {
    let plot = |e: DrawingAreaErrorKind<DB::ErrorType>| io::Error::other(format!("drawing a chart: {e}"));
    root.fill(&WHITE).map_err(plot)?;
    fig.draw(&root).map_err(plot)?;
    root.present().map_err(plot)
}

/// The chart as a standalone SVG document.
pub fn svg(fig: &impl Figure) -> io::Result<String> {
    fonts()?;
    let mut out = String::new();
    draw_on(fig, SVGBackend::with_string(&mut out, fig.size()).into_drawing_area())?;
    Ok(out)
}

/// The chart as a PNG image: its SVG rasterised at twice its size.
pub fn png(fig: &impl Figure) -> io::Result<Vec<u8>> {
    rasterise(&svg(fig)?, fig.size())
}

/// An SVG of `size` pixels as a PNG, at [`PNG_SCALE`] times the size.
fn rasterise(svg: &str, (w, h): (u32, u32)) -> io::Result<Vec<u8>> {
    let tree = resvg::usvg::Tree::from_str(svg, raster_options())
        .map_err(|e| io::Error::other(format!("reading the chart's SVG: {e}")))?;
    let scale = |v: u32| (v as f32 * PNG_SCALE).round() as u32;
    let mut pixels = resvg::tiny_skia::Pixmap::new(scale(w), scale(h))
        .ok_or_else(|| io::Error::other(format!("a {w} × {h} chart has no pixels")))?;
    let transform = resvg::tiny_skia::Transform::from_scale(PNG_SCALE, PNG_SCALE);
    resvg::render(&tree, transform, &mut pixels.as_mut());
    pixels
        .encode_png()
        .map_err(|e| io::Error::other(format!("encoding a PNG: {e}")))
}

/// Writes `DIR/STEM.svg` and `DIR/STEM.png` (the same picture); returns their paths.
pub fn write(fig: &impl Figure, dir: &Path, stem: &str) -> io::Result<[PathBuf; 2]> {
    let (svg_path, png_path) = (dir.join(format!("{stem}.svg")), dir.join(format!("{stem}.png")));
    let svg = svg(fig)?;
    std::fs::write(&png_path, rasterise(&svg, fig.size())?)?;
    std::fs::write(&svg_path, svg)?;
    Ok([svg_path, png_path])
}

/// Text and lines.
pub const INK: RGBColor = RGBColor(0x22, 0x22, 0x22);
/// Subtitles and notes.
pub const MUTED: RGBColor = RGBColor(0x5f, 0x5f, 0x5f);
/// Grid lines.
pub const GRID: RGBColor = RGBColor(0xe4, 0xe4, 0xe4);
/// Red (losses, a trigger, a strike).
pub const RED: RGBColor = RGBColor(0xc0, 0x39, 0x2b);
/// Blue (the main curve).
pub const BLUE: RGBColor = RGBColor(0x1f, 0x5f, 0xbf);
/// Green (capital, recovery).
pub const GREEN: RGBColor = RGBColor(0x1e, 0x8e, 0x3e);
/// Orange (a streak).
pub const ORANGE: RGBColor = RGBColor(0xe6, 0x7e, 0x22);
/// Tranche colours, junior first.
pub const TRANCHES: [RGBColor; 4] = [RED, BLUE, GREEN, RGBColor(0x8e, 0x44, 0xad)];

/// Body text of `size` pixels.
pub fn text(size: u32) -> TextStyle<'static> {
    ("sans-serif", size).into_font().color(&INK)
}

/// Draws a bold title and a muted subtitle at the top of `area`; returns the area below.
pub fn heading<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    subtitle: &str,
) -> Result<DrawingArea<DB, Shift>, DrawingAreaErrorKind<DB::ErrorType>> {
    let bold = ("sans-serif", 18, FontStyle::Bold).into_font().color(&INK);
    area.draw_text(title, &bold, (16, 10))?;
    if subtitle.is_empty() {
        return Ok(area.split_vertically(36).1);
    }
    area.draw_text(subtitle, &text(13).color(&MUTED), (16, 34))?;
    Ok(area.split_vertically(56).1)
}

/// The house style of a chart's mesh: grid lines at the labelled ticks only,
/// dark axes, body-text labels. The chart's own settings chain after it.
pub fn mesh<'m, 'a, 'b, X: Ranged, Y: Ranged, DB: DrawingBackend>(
    m: &'m mut MeshStyle<'a, 'b, X, Y, DB>,
) -> &'m mut MeshStyle<'a, 'b, X, Y, DB> {
    m.light_line_style(TRANSPARENT)
        .bold_line_style(GRID)
        .axis_style(INK)
        .label_style(text(13))
        .axis_desc_style(text(14))
}

/// How a legend entry is drawn.
#[derive(Clone, Copy, Debug)]
pub enum Mark {
    /// A solid line.
    Line(RGBColor, u32),
    /// A dashed line.
    Dashed(RGBColor, u32),
    /// A shaded band.
    Band(RGBColor),
    /// No sample: a note.
    Note,
}

/// Draws a row of legend entries at the top of `area`, left to right from
/// the plot's left edge `left`, wrapping to a second row when needed;
/// returns the area below. Being outside the plot, it never covers data.
pub fn legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    left: i32,
    entries: &[(&str, Mark)],
) -> Result<DrawingArea<DB, Shift>, DrawingAreaErrorKind<DB::ErrorType>> {
    const ROW: i32 = 22;
    let style = text(13).pos(Pos::new(HPos::Left, VPos::Center));
    let width = area.dim_in_pixel().0 as i32;
    let (mut x, mut y) = (left, ROW / 2);
    for (label, mark) in entries {
        let sample = if matches!(mark, Mark::Note) { 0 } else { 30 };
        let w = sample + area.estimate_text_size(label, &style)?.0 as i32 + 22;
        if x + w > width && x > left {
            (x, y) = (left, y + ROW);
        }
        match *mark {
            Mark::Line(c, px) => area.draw(&PathElement::new([(x, y), (x + 24, y)], c.stroke_width(px)))?,
            Mark::Dashed(c, px) => {
                for k in 0..3 {
                    area.draw(&PathElement::new(
                        [(x + 9 * k, y), (x + 9 * k + 6, y)],
                        c.stroke_width(px),
                    ))?;
                }
            }
            Mark::Band(c) => area.draw(&Rectangle::new([(x, y - 7), (x + 24, y + 7)], c.mix(0.25).filled()))?,
            Mark::Note => {}
        }
        let color = if matches!(mark, Mark::Note) { MUTED } else { INK };
        area.draw_text(label, &style.color(&color), (x + sample, y))?;
        x += w;
    }
    Ok(area.split_vertically(y + ROW / 2 + 4).1)
}

/// `$1.2M`, `$350k`, `$12`: money on axes and in labels.
pub fn usd(v: f64) -> String {
    let a = v.abs();
    let trim = |s: String| {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    };
    if a >= 1e9 {
        format!("${}B", trim(format!("{:.3}", v / 1e9)))
    } else if a >= 1e6 {
        format!("${}M", trim(format!("{:.2}", v / 1e6)))
    } else if a >= 1e3 {
        format!("${}k", trim(format!("{:.1}", v / 1e3)))
    } else {
        format!("${v:.0}")
    }
}

/// A probability as a percentage with as many decimals as it needs (up to
/// 4 significant digits): `5 %`, `0.5 %`, `0.0001 %`, `12.35 %`.
pub fn percent(p: f64) -> String {
    let v = p * 100.0;
    if v == 0.0 {
        return "0 %".into();
    }
    let decimals = (3 - v.abs().log10().floor() as i32).clamp(0, 8) as usize;
    let s = format!("{v:.decimals$}");
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        &s
    };
    format!("{s} %")
}

/// Decimals that show every multiple of a round `step` exactly (0.02 → 2).
pub fn decimals(step: f64) -> usize {
    (-step.log10() - 1e-9).ceil().max(0.0) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_formats() {
        assert_eq!(usd(1_000_000.0), "$1M");
        assert_eq!(usd(1_250_000.0), "$1.25M");
        assert_eq!(usd(350_000.0), "$350k");
        assert_eq!(usd(25_060.0), "$25.1k");
        assert_eq!(usd(12.4), "$12");
        assert_eq!(usd(2.5e9), "$2.5B");
        assert_eq!(percent(0.05), "5 %");
        assert_eq!(percent(0.0005), "0.05 %");
        assert_eq!(percent(1e-6), "0.0001 %");
        assert_eq!(percent(0.123456), "12.35 %");
        assert_eq!(percent(1.0), "100 %");
        assert_eq!(
            (decimals(0.02), decimals(0.1), decimals(1.0), decimals(50.0)),
            (2, 1, 0, 0)
        );
    }
}
