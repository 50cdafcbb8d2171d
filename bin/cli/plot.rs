//! `woof-get --plot FIELD[,FIELD]`: a typed woof's numeric fields as charts in the
//! terminal (Unicode braille, textplots), one per field, sized to the terminal
//! (COLUMNS and LINES, else 80×24). Put time runs left to right, in seconds from
//! the first element; each pixel column keeps the minimum and maximum of the
//! points that fall in it, so a million points draw as fast as a thousand and a
//! spike is never averaged away; a pause of more than 3× the usual spacing is a
//! gap, not a line. `--output FILE.png|FILE.svg` draws the same into a picture
//! file (plotters), the time axis in UTC or (--time-format local) the system's
//! zone; text uses Noto Sans compiled in, so no font need be installed.

use std::io::Write;
use std::path::Path;

use textplots::{Chart, Plot, Shape};
use woof::ErrorKind;
use woof::records::time::{self, TimeFormat};
use woof::schema::{Field, Schema, Value};

use crate::exit::Failure;
use crate::source::{self, Source};
use crate::when::Filter;

/// Terminal columns and lines from the environment (what the shell exports).
fn screen() -> (u32, u32) {
    let get = |k: &str, d: u32| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    (get("COLUMNS", 80).max(40), get("LINES", 24).max(8))
}

/// Where a chart goes: the terminal, or a picture file of a size.
pub enum Target<'a> {
    Terminal,
    File(Picture<'a>),
}

/// A picture file: its path, kind, size in pixels and the zone of its time axis.
pub struct Picture<'a> {
    path: &'a Path,
    png: bool,
    size: (u32, u32),
    local: bool,
}

impl<'a> Target<'a> {
    /// The terminal, or the file `--output` names: PNG or SVG by its extension.
    pub fn of(
        file: Option<&'a Path>,
        size: (u32, u32),
        time: TimeFormat,
    ) -> Result<Target<'a>, Failure> {
        let Some(path) = file else {
            return Ok(Target::Terminal);
        };
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        let png = match ext.as_deref() {
            Some("png") => true,
            Some("svg") => false,
            _ => {
                return Err(Failure::usage(format!(
                    "{}: --output draws PNG (FILE.png) or SVG (FILE.svg)",
                    path.display()
                )));
            }
        };
        let local = time == TimeFormat::Local;
        Ok(Target::File(Picture {
            path,
            png,
            size,
            local,
        }))
    }
}

/// `WxH` in pixels, each at least 100.
pub fn parse_pixels(s: &str) -> Result<(u32, u32), String> {
    let bad = || format!("'{s}' is not a size (WIDTHxHEIGHT in pixels, at least 100x100)");
    let (w, h) = s.split_once('x').ok_or_else(bad)?;
    let (w, h): (u32, u32) = (w.parse().map_err(|_| bad())?, h.parse().map_err(|_| bad())?);
    if w < 100 || h < 100 || w > 20_000 || h > 20_000 {
        return Err(bad());
    }
    Ok((w, h))
}

/// Draws FROM..=TO of `src` as one chart per field of `names`; draws nothing for
/// an empty window (None), once the fields asked for are known to be numbers.
pub fn run(
    src: &mut dyn Source,
    name: &str,
    schema: &Schema,
    names: &[String],
    (window, filter): (Option<(u64, u64)>, Filter),
    target: Target,
    out: &mut impl Write,
) -> Result<(), Failure> {
    let fields = schema
        .numeric_fields(names)
        .map_err(|why| Failure::usage(format!("{name}: {why}")))?;
    let Some((from, to)) = window else {
        return Ok(());
    };
    // (put time, value) of each field, in put order.
    let mut series: Vec<Vec<(i64, f64)>> = vec![Vec::new(); fields.len()];
    source::each_held(src, name, (from, to), |el, data| {
        let Some(t) = filter.pick(el, data) else {
            return;
        };
        for (f, points) in fields.iter().zip(series.iter_mut()) {
            if let Some(v) = f.decode(data).ok().and_then(Value::as_f64) {
                points.push((t, v));
            }
        }
    })?;
    // In time order (a timestamp field, a clock set back); put order is already
    // sorted, which the stable sort finds in one pass.
    for points in &mut series {
        points.sort_by_key(|p| p.0);
    }
    if let Target::File(picture) = target {
        return picture.draw(&fields, &series);
    }
    let (cols, lines) = screen();
    // Braille: 2 dots a column, 4 a line; room for the labels and the heading.
    let width = (2 * cols.saturating_sub(12)).max(32);
    let height =
        (4 * (lines.saturating_sub(3) / fields.len().max(1) as u32).saturating_sub(3)).max(8);
    for (f, points) in fields.iter().zip(&series) {
        let text = chart(&f.name, points, width, height);
        out.write_all(text.as_bytes()).map_err(Failure::stdout)?;
    }
    out.flush().map_err(Failure::stdout)
}

/// The points to draw across `width` pixel columns: each column's minimum and
/// maximum, in put order, cut into runs where the data pauses (a gap).
pub fn reduce(points: &[(i64, f64)], width: u32) -> Vec<Vec<(i64, f64)>> {
    let Some(first) = points.first() else {
        return Vec::new();
    };
    let last = points[points.len() - 1];
    let span = (last.0 - first.0).max(1) as f64 / 1e9;
    let per_column = span / f64::from(width.max(1));
    let mut kept: Vec<(i64, f64)> = Vec::new();
    let mut col = -1i64;
    let (mut lo, mut hi) = ((0, 0.0), (0, 0.0));
    let flush = |kept: &mut Vec<(i64, f64)>, lo: (i64, f64), hi: (i64, f64)| {
        let (a, b) = if lo.0 <= hi.0 { (lo, hi) } else { (hi, lo) };
        kept.push(a);
        if b != a {
            kept.push(b);
        }
    };
    for &p in points {
        let c = (((p.0 - first.0) as f64 / 1e9) / per_column) as i64;
        if c != col {
            if col >= 0 {
                flush(&mut kept, lo, hi);
            }
            col = c;
            (lo, hi) = (p, p);
        } else {
            if p.1 < lo.1 {
                lo = p;
            }
            if p.1 > hi.1 {
                hi = p;
            }
        }
    }
    flush(&mut kept, lo, hi);
    // Gaps: a pause much longer than the usual spacing breaks the line (a usual
    // spacing needs a few steps to be one: with fewer, no gaps).
    let mut steps: Vec<i64> = points.windows(2).map(|w| w[1].0 - w[0].0).collect();
    steps.sort_unstable();
    let usual = match steps.len() {
        0..8 => i64::MAX / 4,
        n => steps[n / 2].max(1),
    };
    let mut runs: Vec<Vec<(i64, f64)>> = vec![Vec::new()];
    for w in kept.windows(2) {
        if let Some(r) = runs.last_mut().filter(|r| r.is_empty()) {
            r.push(w[0]);
        }
        if w[1].0 - w[0].0 > 3 * usual && w[1].0 - w[0].0 > (per_column * 2e9) as i64 {
            runs.push(Vec::new());
        }
        if let Some(r) = runs.last_mut() {
            r.push(w[1]);
        }
    }
    if kept.len() == 1 {
        runs = vec![kept];
    }
    runs
}

/// One field's chart, with a heading line naming it and its time span.
fn chart(field: &str, points: &[(i64, f64)], width: u32, height: u32) -> String {
    let (Some(first), Some(last)) = (points.first(), points.last()) else {
        return format!("{field}: no elements in the selection\n");
    };
    let span = (last.0 - first.0).max(1) as f64 / 1e9;
    let x = |t: i64| ((t - first.0) as f64 / 1e9) as f32;
    let runs: Vec<Vec<(f32, f32)>> = reduce(points, width)
        .into_iter()
        .map(|r| r.into_iter().map(|(t, v)| (x(t), v as f32)).collect())
        .collect();
    let shapes: Vec<Shape> = runs
        .iter()
        .map(|r| {
            if r.len() == 1 {
                Shape::Points(r)
            } else {
                Shape::Lines(r)
            }
        })
        .collect();
    let mut c = Chart::new(width, height, 0.0, span as f32);
    let mut plot = &mut c;
    for s in &shapes {
        plot = plot.lineplot(s);
    }
    plot.figures();
    // To the second, so the heading fits the narrowest chart.
    let secs = time::rfc3339_seconds;
    format!("{field}  {} .. {}\n{plot}", secs(first.0), secs(last.0))
}

impl Picture<'_> {
    /// The charts one above the other, time along the bottom of each.
    fn draw(&self, fields: &[&Field], series: &[Vec<(i64, f64)>]) -> Result<(), Failure> {
        use plotters::prelude::*;
        register_font();
        if self.png {
            let root = BitMapBackend::new(self.path, self.size).into_drawing_area();
            self.charts(root, fields, series)
        } else {
            let root = SVGBackend::new(self.path, self.size).into_drawing_area();
            self.charts(root, fields, series)
        }
    }

    fn failed(&self, e: &dyn std::fmt::Display) -> Failure {
        Failure::from(
            woof::Error::new(ErrorKind::Io, self.path.display().to_string()).detail(e.to_string()),
        )
    }

    fn charts<DB: plotters::prelude::DrawingBackend>(
        &self,
        root: plotters::prelude::DrawingArea<DB, plotters::coord::Shift>,
        fields: &[&Field],
        series: &[Vec<(i64, f64)>],
    ) -> Result<(), Failure>
    where
        DB::ErrorType: 'static,
    {
        use plotters::prelude::*;
        let failed = |e: &dyn std::fmt::Display| self.failed(e);
        root.fill(&WHITE).map_err(|e| failed(&e))?;
        let areas = root.split_evenly((fields.len().max(1), 1));
        let zone = if self.local {
            TimeFormat::Local
        } else {
            TimeFormat::Rfc3339
        };
        let zone_name = if self.local { "local time" } else { "UTC" };
        for ((f, points), area) in fields.iter().zip(series).zip(&areas) {
            let (Some(first), Some(last)) = (points.first(), points.last()) else {
                continue;
            };
            let (lo, hi) = points
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), p| {
                    (l.min(p.1), h.max(p.1))
                });
            let (lo, hi) = if lo < hi {
                (lo, hi)
            } else {
                (lo - 1.0, hi + 1.0)
            };
            let (t0, t1) = (first.0, last.0.max(first.0 + 1));
            let mut chart = ChartBuilder::on(area)
                .caption(&f.name, ("sans-serif", 16))
                .margin(10)
                .x_label_area_size(30)
                .y_label_area_size(60)
                .build_cartesian_2d(t0..t1, lo..hi)
                .map_err(|e| failed(&e))?;
            // As fine as the span needs: milliseconds under 10 s, a date past 12 hours.
            let span = t1 - t0;
            let label = move |t: &i64| {
                let text = zone.text(*t, 0, false);
                let cut = if span < 10 * 1_000_000_000 {
                    text.get(11..23)
                } else if span < 12 * 3_600 * 1_000_000_000 {
                    text.get(11..19)
                } else {
                    text.get(5..16)
                };
                cut.unwrap_or(&text).replace('T', " ")
            };
            chart
                .configure_mesh()
                .x_labels(6)
                .x_label_formatter(&label)
                .x_desc(zone_name)
                .draw()
                .map_err(|e| failed(&e))?;
            let plot_width = self.size.0.saturating_sub(80);
            for run in reduce(points, plot_width) {
                if let [only] = run[..] {
                    // A point alone between two gaps: a dot, not nothing.
                    chart
                        .draw_series(std::iter::once(Circle::new(only, 2, BLUE.filled())))
                        .map_err(|e| failed(&e))?;
                } else {
                    chart
                        .draw_series(LineSeries::new(run, &BLUE))
                        .map_err(|e| failed(&e))?;
                }
            }
        }
        root.present().map_err(|e| failed(&e))?;
        Ok(())
    }
}

/// Text is laid out (and in a PNG drawn) with Noto Sans (ttf-noto-sans, compiled
/// in): plotters has no font of its own and the machine may have none installed.
fn register_font() {
    use plotters::style::{FontStyle, register_font};
    // The bytes are a valid font (the crate's own asset); a failure would only
    // leave the labels out, which drawing then reports.
    let _ = register_font("sans-serif", FontStyle::Normal, ttf_noto_sans::REGULAR);
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_000_000_000;

    #[test]
    fn a_pause_is_a_gap_and_a_column_keeps_its_extremes() {
        // 20 points a second apart, a 100 s pause, 20 more.
        let mut pts: Vec<(i64, f64)> = (0..20).map(|i| (i * S, i as f64)).collect();
        pts.extend((0..20).map(|i| ((120 + i) * S, 100.0 + i as f64)));
        let runs = reduce(&pts, 1000);
        assert_eq!(runs.len(), 2, "{runs:?}");
        assert_eq!((runs[0].len(), runs[1].len()), (20, 20));
        // 1000 points into 10 columns: each keeps its min and max, in put order.
        let many: Vec<(i64, f64)> = (0..1000)
            .map(|i| (i * S, ((i * 37) % 101) as f64))
            .collect();
        let kept: Vec<(i64, f64)> = reduce(&many, 10).concat();
        assert!(kept.len() <= 22, "{}", kept.len());
        let all_min = many.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
        let all_max = many.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max);
        assert!(kept.iter().any(|p| p.1 == all_min) && kept.iter().any(|p| p.1 == all_max));
        assert!(kept.windows(2).all(|w| w[0].0 <= w[1].0));
    }
}
