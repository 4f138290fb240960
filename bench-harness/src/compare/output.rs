//! Where results go: tables (text, Markdown), the JSON file and the SVG
//! chart; plus the scratch directory and the UTC timestamp they are named by.

use super::summary::ScenarioResult;
use super::{svg, table, CompareArgs, Settings};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

/// A directory under the system temp dir, removed on drop.
pub struct Scratch {
    pub path: PathBuf,
}

impl Scratch {
    pub fn new() -> Result<Scratch, String> {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let path =
            std::env::temp_dir().join(format!("ringbench-compare-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(Scratch { path })
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// `YYYYMMDD-HHMMSS` in UTC for `secs` since the epoch (civil-from-days,
/// after Howard Hinnant), so file names sort by time without a date crate.
pub fn format_utc(secs: u64) -> String {
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}-{:02}{:02}{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

pub fn utc_timestamp() -> String {
    format_utc(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
    )
}

/// The repository root when ringbench runs from `target/{debug,release}`,
/// else the current directory.
fn repo_root(self_exe: &Path) -> PathBuf {
    self_exe
        .ancestors()
        .nth(3)
        .filter(|root| root.join("Cargo.toml").is_file() && root.join("bench-harness").is_dir())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// First line of `bin ARG`'s output (stdout or stderr), for the record.
fn version_of(bin: &str, arg: &str) -> Option<String> {
    let out = Command::new(bin).arg(arg).output().ok()?;
    let text = [out.stdout, out.stderr].concat();
    Some(
        String::from_utf8_lossy(&text)
            .lines()
            .next()?
            .trim()
            .to_string(),
    )
}

fn run_info(s: &Settings, started: &str) -> serde_json::Value {
    json!({
        "started_utc": started,
        "kernel": std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default().trim(),
        "proxy_cpu": s.proxy_cpu,
        "load_cpu": s.load_cpu,
        "origin": s.origin,
        "warmup_s": s.warmup.as_secs_f64(),
        "duration_s": s.duration.as_secs_f64(),
        "reps": s.reps,
        "proxies": s.proxies,
        "clock_ticks_per_s": super::procstat::clock_ticks_per_s(),
        // Two builds of one version print the same `--version`: the paths
        // tell ringgate and ringgate-base apart.
        "binaries": {
            "ringgate": s.ringgate.display().to_string(),
            "ringgate-base": s.ringgate_base.as_ref().map(|p| p.display().to_string()),
        },
        "versions": {
            "ringgate": version_of(&s.ringgate.display().to_string(), "--version"),
            "ringgate-base": s.ringgate_base.as_ref()
                .and_then(|p| version_of(&p.display().to_string(), "--version")),
            "nginx": version_of(&s.nginx, "-v"),
            "haproxy": version_of(&s.haproxy, "-v"),
        },
    })
}

pub fn write_all(
    args: &CompareArgs,
    s: &Settings,
    started: &str,
    results: &[ScenarioResult],
) -> Result<(), String> {
    let to_stdout = args.json.as_deref() == Some("-");
    let mut tables = String::from("\n");
    for r in results {
        tables.push_str(&table::text(r));
        tables.push('\n');
    }
    if args.markdown {
        for r in results {
            tables.push_str(&table::markdown(r));
            tables.push('\n');
        }
    }
    if to_stdout {
        eprint!("{tables}")
    } else {
        print!("{tables}")
    }

    let doc = json!({ "run": run_info(s, started), "scenarios": results });
    let text = serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())? + "\n";
    let json_path = match args.json.as_deref() {
        Some("-") => {
            print!("{text}");
            None
        }
        Some(p) => Some(PathBuf::from(p)),
        None => Some(
            repo_root(&s.self_exe)
                .join("bench-results")
                .join(format!("compare-{started}.json")),
        ),
    };
    if let Some(p) = &json_path {
        write_file(p, &text)?;
    }
    let svg_path = args
        .svg
        .clone()
        .or_else(|| json_path.map(|p| p.with_extension("svg")));
    if let Some(p) = svg_path {
        let title = format!(
            "ringbench compare {started} UTC, proxy on cpu {}",
            s.proxy_cpu
        );
        write_file(&p, &svg::chart(&title, results))?;
    }
    Ok(())
}

fn write_file(path: &Path, text: &str) -> Result<(), String> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    eprintln!("ringbench compare: wrote {}", path.display());
    Ok(())
}
