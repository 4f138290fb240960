//! End-of-run output: the summary table, `--json` and `--hist`.

use super::plan::Plan;
use crate::stats::Stats;
use crate::units::{fmt_bytes, fmt_us};
use serde_json::{json, Value};
use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

/// Percentiles reported everywhere (as quantiles).
const QUANTILES: [(&str, f64); 6] = [
    ("p50", 0.5),
    ("p75", 0.75),
    ("p90", 0.9),
    ("p99", 0.99),
    ("p99_9", 0.999),
    ("p99_99", 0.9999),
];

pub fn write_all(
    plan: &Plan,
    stats: &Stats,
    elapsed: Duration,
    json_to: Option<&str>,
    hist_to: Option<&Path>,
) -> Result<(), String> {
    let text = summary(plan, stats, elapsed);
    if json_to == Some("-") {
        eprint!("{text}");
    } else {
        print!("{text}");
    }
    if let Some(to) = json_to {
        let doc = serde_json::to_string_pretty(&to_json(plan, stats, elapsed)).unwrap_or_default();
        if to == "-" {
            println!("{doc}");
        } else {
            std::fs::write(to, doc + "\n").map_err(|e| format!("--json {to}: {e}"))?;
        }
    }
    if let Some(path) = hist_to {
        std::fs::write(path, percentile_distribution(stats))
            .map_err(|e| format!("--hist {}: {e}", path.display()))?;
    }
    Ok(())
}

fn mode(plan: &Plan) -> String {
    let conn = if plan.keepalive {
        "keep-alive"
    } else {
        "new connection per request"
    };
    let lp = match plan.rate {
        Some(r) => format!("open loop at {r} req/s (latency from scheduled send)"),
        None => "closed loop".to_string(),
    };
    let pipe = if plan.pipeline > 1 {
        format!(", pipeline {}", plan.pipeline)
    } else {
        String::new()
    };
    format!("{conn}, {lp}{pipe}")
}

fn summary(plan: &Plan, s: &Stats, elapsed: Duration) -> String {
    let secs = elapsed.as_secs_f64().max(1e-9);
    let h = &s.latency;
    let mut t = String::new();
    let _ = writeln!(t, "ringbench load {}", plan.target());
    let _ = writeln!(
        t,
        "  {} threads, {} connections, {}",
        plan.threads,
        plan.connections,
        mode(plan)
    );
    let _ = writeln!(
        t,
        "  {:<10} {} in {:.2}s = {:.1} req/s",
        "Requests",
        s.requests,
        secs,
        s.requests as f64 / secs
    );
    let (r, w) = (s.bytes_read as f64, s.bytes_written as f64);
    let _ = writeln!(
        t,
        "  {:<10} read {}/s ({}), written {}/s",
        "Transfer",
        fmt_bytes(r / secs),
        fmt_bytes(r),
        fmt_bytes(w / secs)
    );
    if !h.is_empty() {
        let _ = writeln!(
            t,
            "  {:<10} mean {}  stdev {}  min {}  max {}",
            "Latency",
            fmt_us(h.mean()),
            fmt_us(h.stdev()),
            fmt_us(h.min() as f64),
            fmt_us(h.max() as f64)
        );
        let pcts: Vec<String> = [("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("p99.9", 0.999)]
            .iter()
            .map(|(n, q)| format!("{n} {}", fmt_us(h.value_at_quantile(*q) as f64)))
            .collect();
        let _ = writeln!(t, "  {:<10} {}", "", pcts.join("  "));
    }
    let c = s.classes();
    let codes: Vec<String> = s.codes().map(|(code, n)| format!("{code}: {n}")).collect();
    let _ = writeln!(
        t,
        "  {:<10} 2xx {}  3xx {}  4xx {}  5xx {}  [{}]",
        "Status",
        c[1],
        c[2],
        c[3],
        c[4],
        codes.join(", ")
    );
    let e = &s.errors;
    let _ = writeln!(
        t,
        "  {:<10} connect {}  read {}  write {}  timeout {}  parse {}",
        "Errors", e.connect, e.read, e.write, e.timeout, e.parse
    );
    t
}

fn to_json(plan: &Plan, s: &Stats, elapsed: Duration) -> Value {
    let secs = elapsed.as_secs_f64().max(1e-9);
    let h = &s.latency;
    let mut latency = json!({
        "count": h.len(), "min": h.min(), "mean": h.mean(), "stdev": h.stdev(), "max": h.max(),
    });
    for (name, q) in QUANTILES {
        latency[name] = json!(h.value_at_quantile(q));
    }
    let c = s.classes();
    let codes: serde_json::Map<String, Value> = s
        .codes()
        .map(|(code, n)| (code.to_string(), json!(n)))
        .collect();
    json!({
        "target": plan.target(),
        "threads": plan.threads,
        "connections": plan.connections,
        "keepalive": plan.keepalive,
        "pipeline": plan.pipeline,
        "rate": plan.rate,
        "warmup_s": plan.warmup.as_secs_f64(),
        "duration_s": secs,
        "requests": s.requests,
        "requests_per_s": s.requests as f64 / secs,
        "bytes_read": s.bytes_read,
        "bytes_written": s.bytes_written,
        "read_bytes_per_s": s.bytes_read as f64 / secs,
        "written_bytes_per_s": s.bytes_written as f64 / secs,
        "latency_us": latency,
        "status": { "1xx": c[0], "2xx": c[1], "3xx": c[2], "4xx": c[3], "5xx": c[4], "codes": codes },
        "errors": {
            "connect": s.errors.connect, "read": s.errors.read, "write": s.errors.write,
            "timeout": s.errors.timeout, "parse": s.errors.parse, "total": s.errors.total(),
        },
    })
}

/// HdrHistogram's `outputPercentileDistribution` text, values in ms, so
/// the usual plotters (and wrk2 users) can read it.
fn percentile_distribution(s: &Stats) -> String {
    let h = &s.latency;
    let mut t = format!(
        "{:>12} {:>14} {:>10} {:>14}\n\n",
        "Value", "Percentile", "TotalCount", "1/(1-Percentile)"
    );
    if !h.is_empty() {
        for v in h.iter_quantiles(5) {
            let (value, q, count) = (
                v.value_iterated_to() as f64 / 1000.0,
                v.quantile_iterated_to(),
                v.count_since_last_iteration(),
            );
            let _ = write!(t, "{value:>12.3} {q:>14.12} {count:>10}");
            if q < 1.0 {
                let _ = write!(t, " {:>14.2}", 1.0 / (1.0 - q));
            }
            t.push('\n');
        }
    }
    let _ = writeln!(
        t,
        "#[Mean    = {:>12.3}, StdDeviation   = {:>12.3}]",
        h.mean() / 1000.0,
        h.stdev() / 1000.0
    );
    let _ = writeln!(
        t,
        "#[Max     = {:>12.3}, Total count    = {:>12}]",
        h.max() as f64 / 1000.0,
        h.len()
    );
    let _ = writeln!(
        t,
        "#[Buckets = {:>12}, SubBuckets     = {:>12}]",
        h.buckets(),
        h.distinct_values()
    );
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distribution_format() {
        let mut s = Stats::default();
        for us in 1..=1000u64 {
            s.record(200, Duration::from_micros(us));
        }
        let text = percentile_distribution(&s);
        assert!(text.starts_with("       Value"));
        let rows: Vec<&str> = text
            .lines()
            .filter(|l| l.trim_start().starts_with(|c: char| c.is_ascii_digit()))
            .collect();
        assert!(rows.len() > 10);
        assert!(rows.last().unwrap().contains("1.000000000000"));
        assert!(text.contains("Total count    =         1000"));
    }
}
