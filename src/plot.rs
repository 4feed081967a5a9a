//! PNG plots for the examples and the book: line charts (losses, predictions)
//! and a classifier's decision regions. Text uses the DejaVu Sans font of the
//! system (Debian's `fonts-dejavu-core`).

use crate::Error;
use plotters::prelude::*;
use std::path::Path;
use std::sync::OnceLock;

const FONT_PATHS: [&str; 3] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/local/share/fonts/DejaVuSans.ttf",
];

/// Registers a font for plot text, once.
fn font() -> Result<(), Error> {
    static REGISTERED: OnceLock<Result<(), String>> = OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            let bytes = FONT_PATHS
                .iter()
                .find_map(|p| std::fs::read(p).ok())
                .ok_or_else(|| {
                    format!("no font for plot text in {FONT_PATHS:?}; install fonts-dejavu-core")
                })?;
            let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
            plotters::style::register_font("sans-serif", FontStyle::Normal, bytes)
                .map_err(|_| "the font could not be read".to_string())
        })
        .clone()
        .map_err(|reason| Error::File {
            path: "the plot font".into(),
            reason,
        })
}

fn draw_error(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::File {
        path: path.display().to_string(),
        reason: e.to_string(),
    }
}

/// A named line of a chart.
pub struct Series<'a> {
    /// The legend.
    pub label: &'a str,
    /// The points, in order.
    pub points: Vec<(f64, f64)>,
    /// RGB colour.
    pub color: (u8, u8, u8),
}

fn bounds(series: &[Series<'_>]) -> ((f64, f64), (f64, f64)) {
    let pts = series.iter().flat_map(|s| s.points.iter());
    let (mut x0, mut x1, mut y0, mut y1) = (
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
    );
    for &(x, y) in pts {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y0 = y0.min(y);
        y1 = y1.max(y);
    }
    if x0.partial_cmp(&x1) != Some(std::cmp::Ordering::Less) {
        (x0, x1) = (x0 - 1.0, x0 + 1.0);
    }
    let pad = ((y1 - y0) * 0.05).max(1e-9);
    ((x0, x1), (y0 - pad, y1 + pad))
}

/// Writes a line chart as a PNG of 800 × 480 pixels.
pub fn line_chart(
    path: impl AsRef<Path>,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series<'_>],
) -> Result<(), Error> {
    let path = path.as_ref();
    font()?;
    let ((x0, x1), (y0, y1)) = bounds(series);
    let root = BitMapBackend::new(path, (800, 480)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| draw_error(path, e))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(|e| draw_error(path, e))?;
    chart
        .configure_mesh()
        .x_desc(x_label)
        .y_desc(y_label)
        .draw()
        .map_err(|e| draw_error(path, e))?;
    for s in series {
        let color = RGBColor(s.color.0, s.color.1, s.color.2);
        chart
            .draw_series(LineSeries::new(
                s.points.iter().copied(),
                color.stroke_width(2),
            ))
            .map_err(|e| draw_error(path, e))?
            .label(s.label)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(|e| draw_error(path, e))?;
    root.present().map_err(|e| draw_error(path, e))
}

/// Writes a classifier's decision regions with its points as a PNG of
/// 640 × 640 pixels: `predict` gives the probability of class 1 at a point,
/// `points` are `(x, y, class)`.
pub fn decision_regions(
    path: impl AsRef<Path>,
    title: &str,
    points: &[(f64, f64, bool)],
    predict: impl Fn(&[(f64, f64)]) -> Result<Vec<f64>, Error>,
) -> Result<(), Error> {
    let path = path.as_ref();
    font()?;
    let pad = 1.0;
    let (x0, x1) = points
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| {
            (a.min(p.0), b.max(p.0))
        });
    let (y0, y1) = points
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| {
            (a.min(p.1), b.max(p.1))
        });
    let (x0, x1, y0, y1) = (x0 - pad, x1 + pad, y0 - pad, y1 + pad);
    let n = 160;
    let grid: Vec<(f64, f64)> = (0..n * n)
        .map(|k| {
            (
                x0 + (x1 - x0) * ((k % n) as f64 + 0.5) / n as f64,
                y0 + (y1 - y0) * ((k / n) as f64 + 0.5) / n as f64,
            )
        })
        .collect();
    let probs = predict(&grid)?;
    let root = BitMapBackend::new(path, (640, 640)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| draw_error(path, e))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(44)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(|e| draw_error(path, e))?;
    chart
        .configure_mesh()
        .disable_mesh()
        .draw()
        .map_err(|e| draw_error(path, e))?;
    let (dx, dy) = ((x1 - x0) / n as f64, (y1 - y0) / n as f64);
    chart
        .draw_series(grid.iter().zip(&probs).map(|(&(x, y), &p)| {
            let color = if p > 0.5 {
                RGBColor(158, 202, 225)
            } else {
                RGBColor(252, 187, 161)
            };
            Rectangle::new(
                [(x - dx / 2.0, y - dy / 2.0), (x + dx / 2.0, y + dy / 2.0)],
                color.filled(),
            )
        }))
        .map_err(|e| draw_error(path, e))?;
    chart
        .draw_series(points.iter().map(|&(x, y, c)| {
            let color = if c {
                RGBColor(33, 102, 172)
            } else {
                RGBColor(203, 24, 29)
            };
            Circle::new((x, y), 3, color.filled())
        }))
        .map_err(|e| draw_error(path, e))?;
    root.present().map_err(|e| draw_error(path, e))
}
