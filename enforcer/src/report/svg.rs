//! The report's charts, drawn as inline SVG (no script, nothing fetched): horizontal bars of
//! counts, and a timeline of would-deny and denied calls.

use super::model::Incident;
use maud::{Markup, html};

/// One bar: a label, and its segments (count, CSS class) drawn one after another.
pub struct Bar {
    pub label: String,
    pub href: Option<String>,
    pub segments: Vec<(u64, &'static str)>,
}

const WIDTH: f64 = 720.0;
const LABEL_W: f64 = 230.0;
const COUNT_W: f64 = 70.0;
const ROW_H: f64 = 22.0;

/// Horizontal bars scaled to the largest total; each bar ends with its total.
pub fn bars(title: &str, bars: &[Bar]) -> Markup {
    let max = bars
        .iter()
        .map(|b| b.segments.iter().map(|s| s.0).sum::<u64>())
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let span = WIDTH - LABEL_W - COUNT_W;
    let height = ROW_H * bars.len() as f64 + 8.0;
    html! {
        svg class="chart" role="img" aria-label=(title) width=(WIDTH) height=(height)
            viewBox=(format!("0 0 {WIDTH} {height}")) xmlns="http://www.w3.org/2000/svg" {
            title { (title) }
            @for (i, bar) in bars.iter().enumerate() {
                @let y = i as f64 * ROW_H + 4.0;
                @let total: u64 = bar.segments.iter().map(|s| s.0).sum();
                @match &bar.href {
                    Some(href) => a href=(href) {
                        text x=(LABEL_W - 8.0) y=(y + 15.0) text-anchor="end" class="label" { (clip(&bar.label)) }
                    },
                    None => text x=(LABEL_W - 8.0) y=(y + 15.0) text-anchor="end" class="label" { (clip(&bar.label)) },
                }
                @let (placed, end) = place(&bar.segments, max, span);
                @for (x, w, count, class) in placed {
                    rect x=(x) y=(y + 2.0) width=(w.max(1.0)) height=(ROW_H - 6.0) class=(class) {
                        title { (count) " " (class.replace('-', " ")) }
                    }
                }
                text x=(end + 6.0) y=(y + 15.0) class="count" { (total) }
            }
        }
    }
}

/// The segments' x and width, end to end from the label column, and where the bar ends.
#[allow(clippy::type_complexity)]
fn place(
    segments: &[(u64, &'static str)],
    max: f64,
    span: f64,
) -> (Vec<(f64, f64, u64, &'static str)>, f64) {
    let mut x = LABEL_W;
    let mut placed = Vec::new();
    for &(count, class) in segments.iter().filter(|s| s.0 > 0) {
        let w = count as f64 / max * span;
        placed.push((x, w, count, class));
        x += w.max(1.0);
    }
    (placed, x)
}

/// Labels longer than this are cut (the tables have them whole).
fn clip(label: &str) -> String {
    const MAX: usize = 34;
    if label.chars().count() <= MAX {
        label.to_string()
    } else {
        let head: String = label.chars().take(MAX - 1).collect();
        format!("{head}…")
    }
}

const BINS: usize = 48;
const TL_H: f64 = 130.0;
const TL_LEFT: f64 = 40.0;

/// Tick spacings, in seconds: from 10 ms to a day, in the steps clocks are read in.
const STEPS: [f64; 24] = [
    0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0,
    900.0, 1800.0, 3600.0, 7200.0, 10800.0, 21600.0, 43200.0, 86400.0,
];
const MAX_TICKS: f64 = 7.0;

/// A moment (seconds since the epoch) in the reader's local time.
fn local(t: f64) -> chrono::DateTime<chrono::Local> {
    let nanos = (t * 1e9).round() as i64;
    chrono::DateTime::from_timestamp_nanos(nanos).with_timezone(&chrono::Local)
}

/// Round moments within `[start, end]`, at most about [`MAX_TICKS`], each with its label in
/// local time, as precise as the spacing needs (`13:05:30`, `13:05`, `Dec 02`).
pub fn ticks(start: f64, end: f64) -> Vec<(f64, String)> {
    let span = (end - start).max(0.0);
    let step = STEPS
        .iter()
        .copied()
        .find(|s| span / s <= MAX_TICKS)
        .unwrap_or(86400.0);
    let format = match step {
        s if s < 1.0 => "%H:%M:%S%.3f",
        s if s < 60.0 => "%H:%M:%S",
        s if s < 86400.0 => "%H:%M",
        _ => "%b %d",
    };
    // Aligned in local time: a 15-minute tick falls on :00, :15, ... of the reader's clock.
    let offset = f64::from(local(start).offset().local_minus_utc());
    let mut t = ((start + offset) / step).ceil() * step - offset;
    let mut out = Vec::new();
    while t <= end + 1e-9 {
        out.push((t, local(t).format(format).to_string()));
        t += step;
    }
    if out.is_empty() {
        out.push((start, local(start).format("%H:%M:%S%.3f").to_string()));
    }
    out
}

/// An event's RFC 3339 time in local time to the millisecond (as it was, if it does not parse).
pub fn readable(rfc3339: &str) -> String {
    match chrono::DateTime::parse_from_rfc3339(rfc3339) {
        Ok(t) => t
            .with_timezone(&chrono::Local)
            .format("%Y-%m-%d %H:%M:%S%.3f")
            .to_string(),
        Err(_) => rfc3339.to_string(),
    }
}

/// The axis caption: the date of the start and the time zone.
pub fn time_caption(start: f64) -> String {
    local(start)
        .format("local time (UTC%:z), from %Y-%m-%d %H:%M:%S")
        .to_string()
}

/// Would-deny and denied calls over `[start, end]` (seconds since the epoch), stacked in
/// equal time bins, under a time axis in local time with round ticks.
pub fn timeline(incidents: &[(f64, Incident)], start: f64, end: f64) -> Markup {
    // A burst within a moment still gets an axis a second wide.
    let end = end.max(start + 1.0);
    let mut bins = [(0u64, 0u64); BINS];
    let width = end - start;
    for (t, kind) in incidents {
        let i = (((t - start) / width) * BINS as f64)
            .floor()
            .clamp(0.0, (BINS - 1) as f64) as usize;
        match kind {
            Incident::WouldDeny => bins[i].0 += 1,
            Incident::Denied => bins[i].1 += 1,
        }
    }
    let max = bins.iter().map(|(a, b)| a + b).max().unwrap_or(0).max(1) as f64;
    let plot_w = WIDTH - TL_LEFT - 10.0;
    let bin_w = plot_w / BINS as f64;
    let plot_h = TL_H - 45.0;
    let x_of = |t: f64| TL_LEFT + (t - start) / width * plot_w;
    html! {
        svg class="chart timeline" role="img" aria-label="would-deny and denied calls over time"
            width=(WIDTH) height=(TL_H) viewBox=(format!("0 0 {WIDTH} {TL_H}"))
            xmlns="http://www.w3.org/2000/svg" {
            title { "would-deny and denied calls over time" }
            line x1=(TL_LEFT) y1=(plot_h + 5.0) x2=(WIDTH - 10.0) y2=(plot_h + 5.0) class="axis" {}
            text x=(TL_LEFT - 6.0) y="14" text-anchor="end" class="count" { (max as u64) }
            text x=(TL_LEFT - 6.0) y=(plot_h + 5.0) text-anchor="end" class="count" { "0" }
            @for (i, (would, denied)) in bins.iter().enumerate() {
                @let x = TL_LEFT + i as f64 * bin_w;
                @let hw = *would as f64 / max * plot_h;
                @let hd = *denied as f64 / max * plot_h;
                @if *would > 0 {
                    rect x=(x + 1.0) y=(plot_h + 5.0 - hw) width=(bin_w - 2.0) height=(hw) class="would-deny" {
                        title { (would) " would-deny" }
                    }
                }
                @if *denied > 0 {
                    rect x=(x + 1.0) y=(plot_h + 5.0 - hw - hd) width=(bin_w - 2.0) height=(hd) class="denied" {
                        title { (denied) " denied" }
                    }
                }
            }
            @for (t, label) in ticks(start, end) {
                line x1=(x_of(t)) y1=(plot_h + 5.0) x2=(x_of(t)) y2=(plot_h + 10.0) class="axis" {}
                text x=(x_of(t)) y=(plot_h + 22.0) text-anchor="middle" class="label tick" { (label) }
            }
            text x=(TL_LEFT) y=(TL_H - 4.0) class="count" { (time_caption(start)) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_moments_labelled_as_precisely_as_their_spacing_needs() {
        let t0 = 1_764_680_000.0; // a whole minute
        let minutes = ticks(t0 + 10.0, t0 + 1800.0);
        assert!(minutes.len() >= 3 && minutes.len() <= 7, "{minutes:?}");
        assert!(
            minutes
                .iter()
                .all(|(_, l)| l.len() == 5 && l.as_bytes()[2] == b':'),
            "{minutes:?}"
        );
        let step = minutes[1].0 - minutes[0].0;
        assert_eq!(step, 300.0, "{minutes:?}");
        let seconds = ticks(t0 + 0.2, t0 + 4.9);
        assert!(seconds.iter().all(|(_, l)| l.len() == 8), "{seconds:?}");
        assert_eq!(seconds.len(), 4, "{seconds:?}");
        let moment = ticks(t0 + 0.123, t0 + 0.124);
        assert!(moment[0].1.contains('.'), "{moment:?}");
    }
}
