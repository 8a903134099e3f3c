//! Timeline pictures: plotters draws SVG; for `.png` the SVG is rasterised
//! with resvg (both pure Rust, no system library; text needs a system font,
//! which fontdb finds in the usual places).

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::timeline::{Kind, Timeline, BINS};

/// One log to draw.
pub struct Panel<'a> {
    pub title: String,
    pub timeline: &'a Timeline,
    /// Icount of the first divergence from the other log (`diff --plot`).
    pub divergence: Option<(u64, String)>,
}

/// Picture formats, from the output's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Svg,
    Png,
}

impl Format {
    pub fn of(path: &Path) -> Option<Format> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "svg" => Some(Format::Svg),
            "png" => Some(Format::Png),
            _ => None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PictureError {
    #[error("drawing failed: {0}")]
    Draw(String),
    #[error("rasterising the SVG failed: {0}")]
    Raster(String),
}

fn draw_err<E: std::fmt::Debug>(e: E) -> PictureError {
    PictureError::Draw(format!("{e:?}"))
}

const WIDTH: u32 = 1400;
/// Left margin of every chart, so their icount axes line up.
const LABEL_AREA: u32 = 250;
const DENSITY_HEIGHT: u32 = 360;
const MARKS_HEIGHT: u32 = 190;
const CLOCK_HEIGHT: u32 = 260;

/// Density series (line colours) and mark rows.
const DENSITY: [(Kind, RGBColor); 8] = [
    (Kind::Instruction, RGBColor(120, 120, 120)),
    (Kind::Exception, RGBColor(214, 39, 40)),
    (Kind::Interrupt, RGBColor(255, 127, 14)),
    (Kind::CharWrite, RGBColor(44, 160, 44)),
    (Kind::AsyncInput, RGBColor(31, 119, 180)),
    (Kind::ClockRead, RGBColor(148, 103, 189)),
    (Kind::Checkpoint, RGBColor(140, 86, 75)),
    (Kind::Other, RGBColor(23, 190, 207)),
];
const MARKS: [(Kind, RGBColor); 5] = [
    (Kind::AsyncInput, RGBColor(31, 119, 180)),
    (Kind::Interrupt, RGBColor(255, 127, 14)),
    (Kind::Exception, RGBColor(214, 39, 40)),
    (Kind::WarpAccount, RGBColor(148, 103, 189)),
    (Kind::Reset, RGBColor(0, 0, 0)),
];

/// The picture as SVG text.
pub fn svg(panels: &[Panel<'_>]) -> Result<String, PictureError> {
    let height = panels.len() as u32 * (DENSITY_HEIGHT + MARKS_HEIGHT) + CLOCK_HEIGHT;
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        let xmax = panels
            .iter()
            .map(|p| p.timeline.icount)
            .max()
            .unwrap_or(0)
            .max(1) as f64;
        let mut rest = root.clone();
        for p in panels {
            let (density, after) = rest.split_vertically(DENSITY_HEIGHT);
            let (marks, after) = after.split_vertically(MARKS_HEIGHT);
            draw_density(&density, p, xmax)?;
            draw_marks(&marks, p, xmax)?;
            rest = after;
        }
        draw_clock(&rest, panels, xmax)?;
        root.present().map_err(draw_err)?;
    }
    Ok(text)
}

/// The picture as PNG bytes.
pub fn png(panels: &[Panel<'_>]) -> Result<Vec<u8>, PictureError> {
    let svg = svg(panels)?;
    let mut opt = resvg::usvg::Options {
        font_family: "DejaVu Sans".into(),
        ..Default::default()
    };
    let db = opt.fontdb_mut();
    db.load_system_fonts();
    db.set_sans_serif_family("DejaVu Sans");
    let tree =
        resvg::usvg::Tree::from_str(&svg, &opt).map_err(|e| PictureError::Raster(e.to_string()))?;
    let size = tree.size().to_int_size();
    let mut pixmap = resvg::tiny_skia::Pixmap::new(size.width(), size.height())
        .ok_or_else(|| PictureError::Raster("empty picture".into()))?;
    resvg::render(
        &tree,
        resvg::tiny_skia::Transform::default(),
        &mut pixmap.as_mut(),
    );
    pixmap
        .encode_png()
        .map_err(|e| PictureError::Raster(e.to_string()))
}

/// Centre of bin `k` in instructions.
fn centre(t: &Timeline, k: usize) -> f64 {
    (k as f64 + 0.5) * t.bin_width() as f64
}

type Chart<'a, 'b, DB, Y> =
    ChartContext<'a, DB, Cartesian2d<plotters::coord::types::RangedCoordf64, Y>>;

fn divergence_line<DB: DrawingBackend, Y: Ranged<ValueType = f64>>(
    chart: &mut Chart<'_, '_, DB, Y>,
    p: &Panel<'_>,
    y: (f64, f64),
) -> Result<(), PictureError>
where
    DB::ErrorType: 'static,
{
    if let Some((icount, label)) = &p.divergence {
        let x = *icount as f64;
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(x, y.0), (x, y.1)],
                RED.stroke_width(3),
            )))
            .map_err(draw_err)?
            .label(label.clone())
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED.stroke_width(3)));
    }
    Ok(())
}

fn draw_density<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    p: &Panel<'_>,
    xmax: f64,
) -> Result<(), PictureError>
where
    DB::ErrorType: 'static,
{
    let t = p.timeline;
    let used = t.used_bins();
    let peak = DENSITY
        .iter()
        .flat_map(|(k, _)| (0..used).map(move |b| t.count(*k, b)))
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let floor = 0.8;
    let mut chart = ChartBuilder::on(area)
        .caption(&p.title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(LABEL_AREA)
        .build_cartesian_2d(0f64..xmax, (floor..peak * 3.0).log_scale())
        .map_err(draw_err)?;
    chart
        .configure_mesh()
        .x_desc(format!(
            "icount (instructions; {BINS} bins of {} instructions)",
            t.bin_width()
        ))
        .y_desc("events per bin")
        .x_label_formatter(&|x| short(*x))
        .draw()
        .map_err(draw_err)?;
    for (kind, color) in DENSITY {
        let total = t.total(kind);
        if total == 0 {
            continue;
        }
        let points: Vec<(f64, f64)> = (0..used)
            .map(|b| (centre(t, b), (t.count(kind, b) as f64).max(floor)))
            .collect();
        chart
            .draw_series(LineSeries::new(points, color.stroke_width(2)))
            .map_err(draw_err)?
            .label(format!("{} ({total})", kind.label()))
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
    }
    divergence_line(&mut chart, p, (floor, peak * 3.0))?;
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 13))
        .draw()
        .map_err(draw_err)?;
    Ok(())
}

fn draw_marks<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    p: &Panel<'_>,
    xmax: f64,
) -> Result<(), PictureError>
where
    DB::ErrorType: 'static,
{
    let t = p.timeline;
    let rows = MARKS.len() as f64;
    let mut chart = ChartBuilder::on(area)
        .margin(12)
        .x_label_area_size(24)
        .y_label_area_size(LABEL_AREA)
        .build_cartesian_2d(0f64..xmax, 0f64..rows)
        .map_err(draw_err)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(MARKS.len() * 2 + 1)
        .y_label_formatter(&|y| {
            let row = (*y - 0.5).round();
            if (*y - 0.5 - row).abs() < 0.01 && row >= 0.0 && (row as usize) < MARKS.len() {
                let (k, _) = MARKS[MARKS.len() - 1 - row as usize];
                format!("{} ({})", k.label(), t.total(k))
            } else {
                String::new()
            }
        })
        .x_label_formatter(&|x| short(*x))
        .draw()
        .map_err(draw_err)?;
    for (i, (kind, color)) in MARKS.iter().enumerate() {
        let row = (MARKS.len() - 1 - i) as f64;
        let w = t.bin_width() as f64;
        let bars = (0..t.used_bins())
            .filter(|&b| t.count(*kind, b) > 0)
            .map(|b| {
                let x0 = b as f64 * w;
                // At least a visible sliver, even for one event in a wide picture.
                let x1 = x0 + w.max(xmax / 900.0);
                Rectangle::new([(x0, row + 0.15), (x1, row + 0.85)], color.filled())
            });
        chart.draw_series(bars).map_err(draw_err)?;
    }
    divergence_line(&mut chart, p, (0.0, rows))?;
    Ok(())
}

fn draw_clock<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    panels: &[Panel<'_>],
    xmax: f64,
) -> Result<(), PictureError>
where
    DB::ErrorType: 'static,
{
    let series: Vec<Vec<(f64, f64)>> = panels
        .iter()
        .map(|p| {
            let t = p.timeline;
            (0..t.used_bins())
                .filter_map(|b| t.virtual_rt[b].map(|v| (centre(t, b), v as f64 / 1e6)))
                .collect()
        })
        .collect();
    let ymax = series
        .iter()
        .flatten()
        .map(|&(_, y)| y)
        .fold(0f64, f64::max)
        .max(1e-3);
    let mut chart = ChartBuilder::on(area)
        .caption(
            "virtual time: CLOCK_VIRTUAL_RT reads (ms) over icount; a vertical step is a clock warp",
            ("sans-serif", 16),
        )
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(LABEL_AREA)
        .build_cartesian_2d(0f64..xmax, 0f64..ymax * 1.05)
        .map_err(draw_err)?;
    chart
        .configure_mesh()
        .x_desc("icount")
        .y_desc("ms")
        .x_label_formatter(&|x| short(*x))
        .draw()
        .map_err(draw_err)?;
    let colors = [RGBColor(31, 119, 180), RGBColor(214, 39, 40)];
    let mut any = false;
    for (i, (p, points)) in panels.iter().zip(series).enumerate() {
        if points.is_empty() {
            continue;
        }
        any = true;
        let color = colors[i % colors.len()];
        // Few reads: show each one (a single read draws no line).
        if points.len() < 200 {
            chart
                .draw_series(points.iter().map(|&p| Circle::new(p, 4, color.filled())))
                .map_err(draw_err)?;
        }
        chart
            .draw_series(LineSeries::new(points, color.stroke_width(2)))
            .map_err(draw_err)?
            .label(p.title.clone())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
    }
    if any {
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font(("sans-serif", 13))
            .draw()
            .map_err(draw_err)?;
    } else {
        area.draw(&Text::new(
            "no CLOCK_VIRTUAL_RT reads in this log (virtual time = icount << shift)",
            (120, CLOCK_HEIGHT as i32 / 2),
            ("sans-serif", 16),
        ))
        .map_err(draw_err)?;
    }
    Ok(())
}

/// 1234567 -> "1.23M".
fn short(x: f64) -> String {
    let a = x.abs();
    if a >= 1e9 {
        format!("{:.2}G", x / 1e9)
    } else if a >= 1e6 {
        format!("{:.2}M", x / 1e6)
    } else if a >= 1e3 {
        format!("{:.1}k", x / 1e3)
    } else {
        format!("{x:.0}")
    }
}
