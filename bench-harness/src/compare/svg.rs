//! A self-contained SVG chart: two rows of grouped bars (CPU µs/req and
//! req/s), one group per scenario with its own y axis of round ticks, one
//! bar per proxy with a min–max whisker and its value, and a legend. Written by hand: a
//! plotting crate would be the largest dependency of the harness.

use super::summary::{ScenarioResult, Spread};
use std::fmt::Write as _;

const COLORS: [&str; 6] = [
    "#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b",
];
const PANEL_H: f64 = 260.0;
const TOP: f64 = 70.0;
const LEFT: f64 = 80.0;
const GAP: f64 = 90.0;
const BAR_W: f64 = 26.0;
const GROUP_PAD: f64 = 36.0;

/// Escapes text for XML content and attribute values.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

/// A round tick step (1, 2 or 5 × 10^k) giving about five ticks up to `max`.
pub fn tick_step(max: f64) -> f64 {
    if !(max > 0.0 && max.is_finite()) {
        return 1.0;
    }
    let raw = max / 5.0;
    let mag = 10f64.powf(raw.log10().floor());
    let m = raw / mag;
    let nice = if m <= 1.0 {
        1.0
    } else if m <= 2.0 {
        2.0
    } else if m <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * mag
}

/// A bar label: three significant figures at most, `k` for thousands.
fn short(v: f64) -> String {
    if v >= 10_000.0 {
        format!("{:.0}k", v / 1000.0)
    } else if v >= 1000.0 {
        format!("{:.1}k", v / 1000.0)
    } else if v >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

fn fmt_tick(v: f64) -> String {
    if v >= 1000.0 {
        format!("{}k", v / 1000.0)
    } else if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v}")
    }
}

/// Proxy names in first-seen order: they pick the colors.
fn proxies(scenarios: &[ScenarioResult]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for r in scenarios.iter().flat_map(|s| &s.results) {
        if !names.contains(&r.proxy) {
            names.push(r.proxy.clone());
        }
    }
    names
}

struct Panel<'a> {
    title: &'a str,
    pick: fn(&super::summary::ProxyResult) -> Spread,
    y0: f64,
}

/// Left margin of each cell, room for its own tick labels.
const CELL_AXIS: f64 = 52.0;

/// The whole chart as an SVG document: a row per metric, a cell per
/// scenario, each cell with its own y scale (1 MiB responses cost 100×
/// what small ones do; a shared axis would flatten everything else).
pub fn chart(title: &str, scenarios: &[ScenarioResult]) -> String {
    let names = proxies(scenarios);
    let cell_w = CELL_AXIS + names.len().max(1) as f64 * BAR_W + GROUP_PAD;
    let width = (LEFT + 20.0 + cell_w * scenarios.len().max(1) as f64).max(520.0);
    let height = TOP + 2.0 * PANEL_H + 2.0 * GAP;
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width:.0}\" height=\"{height:.0}\" \
         viewBox=\"0 0 {width:.0} {height:.0}\" font-family=\"sans-serif\" font-size=\"12\">\n"
    );
    let _ = writeln!(s, "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>");
    let _ = writeln!(
        s,
        "<text x=\"{LEFT}\" y=\"24\" font-size=\"16\" font-weight=\"bold\">{}</text>",
        escape(title)
    );
    legend(&mut s, &names);
    let panels = [
        Panel {
            title: "CPU µs per request (proxy process tree; lower is better)",
            pick: |r| r.cpu_us_per_req,
            y0: TOP,
        },
        Panel {
            title: "requests per second (higher is better)",
            pick: |r| r.requests_per_s,
            y0: TOP + PANEL_H + GAP,
        },
    ];
    for p in &panels {
        let _ = writeln!(
            s,
            "<text x=\"{LEFT}\" y=\"{}\" font-weight=\"bold\">{}</text>",
            p.y0 - 8.0,
            escape(p.title)
        );
        for (g, sc) in scenarios.iter().enumerate() {
            let x0 = LEFT - CELL_AXIS + 10.0 + g as f64 * cell_w;
            cell(&mut s, p, sc, &names, x0);
        }
    }
    s.push_str("</svg>\n");
    s
}

fn legend(s: &mut String, names: &[String]) {
    for (i, n) in names.iter().enumerate() {
        let x = LEFT + i as f64 * 110.0;
        let _ = writeln!(
            s,
            "<rect x=\"{x}\" y=\"36\" width=\"12\" height=\"12\" fill=\"{}\"/>\
             <text x=\"{}\" y=\"46\">{}</text>",
            COLORS[i % COLORS.len()],
            x + 16.0,
            escape(n)
        );
    }
}

/// One scenario's bars for one metric, with its own y axis at `x0`.
fn cell(s: &mut String, p: &Panel, sc: &ScenarioResult, names: &[String], x0: f64) {
    let max = sc
        .results
        .iter()
        .filter(|r| r.has_data())
        .map(|r| (p.pick)(r).max)
        .fold(0.0, f64::max);
    // 10% headroom so the value labels above the tallest bar fit.
    let step = tick_step(max * 1.1);
    let top_value = (max * 1.1 / step).ceil().max(1.0) * step;
    let base = p.y0 + PANEL_H;
    let y = |v: f64| base - v / top_value * PANEL_H;
    let axis_x = x0 + CELL_AXIS;
    let bars_w = names.len().max(1) as f64 * BAR_W;
    axis(s, step, top_value, &y, axis_x, axis_x + bars_w + 8.0);
    for r in sc.results.iter().filter(|r| r.has_data()) {
        let i = names.iter().position(|n| *n == r.proxy).unwrap_or(0);
        let x = axis_x + 4.0 + i as f64 * BAR_W;
        bar(s, x, (p.pick)(r), COLORS[i % COLORS.len()], &y);
    }
    let _ = writeln!(
        s,
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
        axis_x + 4.0 + bars_w / 2.0,
        base + 18.0,
        escape(&sc.scenario)
    );
}

fn axis(s: &mut String, step: f64, top_value: f64, y: &dyn Fn(f64) -> f64, x: f64, x_end: f64) {
    let ticks = (top_value / step).round() as usize;
    for t in 0..=ticks {
        let v = t as f64 * step;
        let _ = writeln!(
            s,
            "<line x1=\"{x:.1}\" y1=\"{yy:.1}\" x2=\"{x_end:.1}\" y2=\"{yy:.1}\" stroke=\"#ddd\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\" text-anchor=\"end\">{}</text>",
            x - 4.0,
            y(v) + 4.0,
            fmt_tick(v),
            yy = y(v)
        );
    }
    let _ = writeln!(
        s,
        "<line x1=\"{x:.1}\" y1=\"{:.1}\" x2=\"{x:.1}\" y2=\"{:.1}\" stroke=\"black\"/>",
        y(0.0),
        y(top_value)
    );
}

/// One bar at the median with a whisker from min to max.
fn bar(s: &mut String, x: f64, v: Spread, color: &str, y: &dyn Fn(f64) -> f64) {
    let (top, base) = (y(v.median), y(0.0));
    let cx = x + BAR_W / 2.0 - 2.0;
    let _ = writeln!(
        s,
        "<rect x=\"{x:.1}\" y=\"{top:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{color}\">\
         <title>{:.2} (min {:.2}, max {:.2})</title></rect>\
         <line x1=\"{cx:.1}\" y1=\"{:.1}\" x2=\"{cx:.1}\" y2=\"{:.1}\" stroke=\"black\"/>\
         <text x=\"{cx:.1}\" y=\"{:.1}\" font-size=\"9\" text-anchor=\"middle\">{}</text>",
        BAR_W - 4.0,
        base - top,
        v.median,
        v.min,
        v.max,
        y(v.min),
        y(v.max),
        y(v.max) - 3.0,
        short(v.median)
    );
}
