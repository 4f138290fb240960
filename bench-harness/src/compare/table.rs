//! The side-by-side tables: aligned text for the terminal and Markdown
//! for docs/BENCHMARKS.md. Both are built from the same rows. The two
//! "÷ base" columns appear only in scenarios where ringgate-base has data.

use super::summary::{
    ProxyResult, ScenarioResult, Spread, MAX_ERROR_RATE, MAX_OTHER_CPU_PCT, MAX_PROXY_WAIT_PCT,
};
use std::fmt::Write as _;

const HEADER: [&str; 9] = [
    "proxy",
    "req/s",
    "p50",
    "p99",
    "p99.9",
    "CPU µs/req",
    "req/s ÷ nginx",
    "CPU ÷ nginx",
    "note",
];
/// Inserted before "note" when ringgate-base ran in the scenario.
const BASE_HEADER: [&str; 2] = ["req/s ÷ base", "CPU ÷ base"];

/// Whether the scenario's table gets the ringgate-base ratio columns.
fn has_base_columns(sc: &ScenarioResult) -> bool {
    sc.results.iter().any(|r| r.rps_vs_base.is_some())
}

/// The column titles of the scenario's table.
pub fn header(sc: &ScenarioResult) -> Vec<String> {
    let mut h: Vec<String> = HEADER.map(String::from).to_vec();
    if has_base_columns(sc) {
        let note = h.pop().unwrap_or_default();
        h.extend(BASE_HEADER.map(String::from));
        h.push(note);
    }
    h
}

fn with_range(s: &Spread, decimals: usize) -> String {
    format!(
        "{:.d$} ({:.d$}–{:.d$})",
        s.median,
        s.min,
        s.max,
        d = decimals
    )
}

fn latency(us: f64) -> String {
    if us < 1000.0 {
        format!("{us:.0}µs")
    } else {
        format!("{:.2}ms", us / 1000.0)
    }
}

fn ratio(r: Option<f64>) -> String {
    r.map_or("—".into(), |x| format!("{x:.2}"))
}

/// One row of cells per proxy, as many as [`header`] has titles.
pub fn rows(sc: &ScenarioResult) -> Vec<Vec<String>> {
    let base_columns = has_base_columns(sc);
    sc.results
        .iter()
        .map(|r| {
            let mut row = cells(sc, r);
            if base_columns {
                let note = row.pop().unwrap_or_default();
                row.push(ratio(r.rps_vs_base));
                row.push(ratio(r.cpu_vs_base));
                row.push(note);
            }
            row
        })
        .collect()
}

/// The cells of [`HEADER`] for one proxy.
fn cells(sc: &ScenarioResult, r: &ProxyResult) -> Vec<String> {
    if !r.has_data() {
        let why = r.error.clone().unwrap_or_else(|| "no data".into());
        let first = why.lines().next().unwrap_or_default().to_string();
        let mut row = vec!["—".to_string(); HEADER.len()];
        row[0] = r.proxy.clone();
        row[HEADER.len() - 1] = format!("FAILED: {first}");
        return row;
    }
    let mut note = Vec::new();
    if r.flagged {
        note.push(format!(
            "⚠ errors {:.1}% > {:.0}%",
            r.error_rate * 100.0,
            MAX_ERROR_RATE * 100.0
        ));
    }
    if r.other_cpu_pct > MAX_OTHER_CPU_PCT {
        note.push(format!("⚠ other processes: {:.0}% CPU", r.other_cpu_pct));
    }
    if r.proxy_wait_pct > MAX_PROXY_WAIT_PCT {
        note.push(format!(
            "⚠ starved: waited for its CPU {:.0}% of the time",
            r.proxy_wait_pct
        ));
    }
    if r.error.is_some() {
        note.push(format!("{} rep(s), then failed", r.reps.len()));
    }
    if let (Some(base), Some(rps), Some(cpu)) = (&sc.baseline, r.rps_vs_baseline, r.cpu_vs_baseline)
    {
        note.push(format!(
            "vs own {base}: req/s {:+.1}%, CPU µs/req {:+.1}%",
            (rps - 1.0) * 100.0,
            (cpu - 1.0) * 100.0
        ));
    }
    vec![
        r.proxy.clone(),
        with_range(&r.requests_per_s, 0),
        latency(r.p50_us.median),
        latency(r.p99_us.median),
        latency(r.p99_9_us.median),
        with_range(&r.cpu_us_per_req, 2),
        ratio(r.rps_vs_nginx),
        ratio(r.cpu_vs_nginx),
        note.join("; "),
    ]
}

/// Aligned plain-text table with the scenario as a title line.
pub fn text(sc: &ScenarioResult) -> String {
    let header = header(sc);
    let rows = rows(sc);
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c}{}", " ".repeat(w - c.chars().count())))
            .collect();
        padded.join("  ").trim_end().to_string()
    };
    let mut t = format!("== {} — {}\n", sc.scenario, sc.about);
    let _ = writeln!(t, "{}", line(&header));
    for row in &rows {
        let _ = writeln!(t, "{}", line(row));
    }
    t
}

/// A Markdown table (GitHub style) under a `###` heading.
pub fn markdown(sc: &ScenarioResult) -> String {
    let mut t = format!("### {} — {}\n\n", sc.scenario, sc.about);
    let header = header(sc);
    let _ = writeln!(t, "| {} |", header.join(" | "));
    let _ = writeln!(t, "|{}", "---|".repeat(header.len()));
    for row in rows(sc) {
        let cells: Vec<String> = row.iter().map(|c| c.replace('|', "\\|")).collect();
        let _ = writeln!(t, "| {} |", cells.join(" | "));
    }
    t
}
