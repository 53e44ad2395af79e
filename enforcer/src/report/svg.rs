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
const TL_H: f64 = 120.0;
const TL_LEFT: f64 = 40.0;

/// Would-deny and denied calls over `[start, end]` (seconds since the epoch), stacked in
/// equal time bins; the axis names the two ends.
pub fn timeline(
    incidents: &[(f64, Incident)],
    start: f64,
    end: f64,
    labels: (&str, &str),
) -> Markup {
    let mut bins = [(0u64, 0u64); BINS];
    let width = (end - start).max(1e-9);
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
    let bin_w = (WIDTH - TL_LEFT - 10.0) / BINS as f64;
    let plot_h = TL_H - 30.0;
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
            text x=(TL_LEFT) y=(TL_H - 6.0) class="label" { (labels.0) }
            text x=(WIDTH - 10.0) y=(TL_H - 6.0) text-anchor="end" class="label" { (labels.1) }
        }
    }
}
