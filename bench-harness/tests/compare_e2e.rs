//! `ringbench compare` end to end: the real ringgate binary behind the
//! harness, the ringbench origin, a one-second window. Also: a proxy that
//! cannot start is reported without stopping the run, and SIGINT leaves no
//! child behind.

use bench_harness::compare::procstat::{Proc, ProcSource};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

const BIN: &str = env!("CARGO_BIN_EXE_ringbench");

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target"))
}

fn mtime(p: &Path) -> Option<SystemTime> {
    p.metadata().and_then(|m| m.modified()).ok()
}

/// The newest of target/{release,debug}/ringgate; built (debug) when
/// neither exists. `None` (test skipped) only when cargo is unavailable.
fn ringgate_bin() -> Option<PathBuf> {
    let t = target_dir();
    let newest = [t.join("release/ringgate"), t.join("debug/ringgate")]
        .into_iter()
        .filter_map(|p| Some((mtime(&p)?, p)))
        .max();
    if let Some((_, p)) = newest {
        return Some(p);
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    eprintln!(
        "no ringgate binary under {}: running `cargo build -p ringgate`",
        t.display()
    );
    match Command::new(cargo)
        .args(["build", "-p", "ringgate"])
        .current_dir(repo_root())
        .status()
    {
        Ok(st) => {
            assert!(st.success(), "cargo build -p ringgate failed");
            Some(t.join("debug/ringgate"))
        }
        Err(e) => {
            eprintln!("SKIPPED: cargo is not available to build ringgate ({e})");
            None
        }
    }
}

/// Runs ringbench with a deadline; returns (success, stdout, stderr).
fn run(args: &[&str], limit: Duration) -> (bool, String, String) {
    let child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = wait(child, limit).wait_with_output().unwrap();
    let text = |b: Vec<u8>| String::from_utf8_lossy(&b).into_owned();
    (out.status.success(), text(out.stdout), text(out.stderr))
}

fn wait(mut child: Child, limit: Duration) -> Child {
    let deadline = Instant::now() + limit;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("ringbench compare did not finish within {limit:?}");
        }
        // Polling a child's exit with a deadline; std has nothing to wait on.
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

/// ringgate and ringgate-base (the same binary here) side by side, two
/// repetitions each: both run, are labelled, get ratios to the base, and
/// their repetitions alternate.
#[test]
fn compare_ringgate_and_ringgate_base_small_get() {
    let Some(ringgate) = ringgate_bin() else {
        return;
    };
    let rg = ringgate.to_str().unwrap();
    let (ok, stdout, stderr) = run(
        &[
            "compare",
            "--proxies",
            "ringgate,ringgate-base",
            "--origin",
            "ringbench",
            "--scenarios",
            "small-get",
            // A window of 100 clock ticks: CPU time is counted in ticks,
            // and a starved proxy may get few of them in a shorter one.
            "--duration",
            "1s",
            "--warmup",
            "200ms",
            "--reps",
            "2",
            "--json",
            "-",
            "--ringgate",
            rg,
            "--ringgate-base",
            rg,
        ],
        Duration::from_secs(90),
    );
    assert!(ok, "compare failed:\n{stderr}");
    let doc: serde_json::Value = serde_json::from_str(&stdout).expect("JSON on stdout");
    let results = doc["scenarios"][0]["results"].as_array().unwrap();
    let names: Vec<&str> = results
        .iter()
        .map(|r| r["proxy"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["ringgate", "ringgate-base"], "{stderr}");
    for r in results {
        assert!(r["error"].is_null(), "{}", r["error"]);
        let reps = r["reps"].as_array().unwrap();
        assert_eq!(reps.len(), 2, "{r}");
        for rep in reps {
            assert!(rep["requests"].as_u64().unwrap() > 0, "{rep}");
            assert!(rep["cpu_us_per_req"].as_f64().unwrap() > 0.0, "{rep}");
        }
        assert!(r["cpu_vs_base"].as_f64().unwrap() > 0.0, "{r}");
        assert!(r["rps_vs_base"].as_f64().unwrap() > 0.0, "{r}");
        assert!(r["cpu_vs_nginx"].is_null(), "{r}");
    }
    assert_eq!(results[1]["cpu_vs_base"], 1.0);
    assert_eq!(doc["run"]["origin"], "ringbench");
    assert_eq!(
        doc["run"]["proxies"],
        serde_json::json!(["ringgate", "ringgate-base"])
    );
    assert_eq!(doc["run"]["binaries"]["ringgate-base"], rg);
    let reps: Vec<&str> = stderr
        .lines()
        .filter_map(|l| l.strip_prefix("ringbench compare: small-get / "))
        .map(|l| l.split(" (").next().unwrap())
        .collect();
    assert_eq!(
        reps,
        [
            "ringgate: rep 1/2",
            "ringgate-base: rep 1/2",
            "ringgate: rep 2/2",
            "ringgate-base: rep 2/2"
        ],
        "{stderr}"
    );
    // The table comes twice: when the scenario ends and with all results.
    let headers: Vec<&str> = stderr.lines().filter(|l| l.starts_with("proxy ")).collect();
    assert_eq!(headers.len(), 2, "{stderr}");
    for header in &headers {
        assert!(header.contains("req/s ÷ base  CPU ÷ base"), "{header}");
    }
    let base_rows = stderr.lines().filter(|l| l.starts_with("ringgate-base "));
    assert_eq!(base_rows.count(), 2, "{stderr}");
}

/// Mistakes with ringgate-base end the run before anything starts.
#[test]
fn ringgate_base_flag_errors() {
    let (ok, stdout, stderr) = run(
        &["compare", "--proxies", "ringgate,ringgate-base,nginx"],
        Duration::from_secs(10),
    );
    assert!(!ok && stdout.is_empty());
    assert_eq!(
        stderr,
        "ringbench: --proxies lists `ringgate-base`, which needs --ringgate-base PATH \
         (the older ringgate binary to compare with)\n"
    );
    let (ok, _, stderr) = run(
        &["compare", "--ringgate-base", "/nonexistent/ringgate"],
        Duration::from_secs(10),
    );
    assert!(!ok);
    assert_eq!(
        stderr,
        "ringbench: --ringgate-base /nonexistent/ringgate: no such file\n"
    );
}

/// Every scenario's ringgate config (TLS listener, auth policy with its
/// secret in the environment, rate limit) passes `ringgate check`.
#[test]
fn every_scenario_ringgate_config_passes_ringgate_check() {
    use bench_harness::compare::scenario::{JWT_SECRET, JWT_SECRET_ENV, SCENARIOS};
    let Some(ringgate) = ringgate_bin() else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("ringbench-rg-all-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let tls = bench_harness::compare::cert::write(&dir).unwrap();
    for sc in SCENARIOS {
        let text = bench_harness::compare::confgen::ringgate(
            1,
            9001,
            &sc.snippets,
            sc.tls.then_some(&tls),
        );
        let file = dir.join(format!("{}.toml", sc.name));
        std::fs::write(&file, &text).unwrap();
        let out = Command::new(&ringgate)
            .arg("check")
            .arg("--config")
            .arg(&file)
            .env(JWT_SECRET_ENV, JWT_SECRET)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}: {}\n{text}",
            sc.name,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn generated_ringgate_config_passes_ringgate_check() {
    let Some(ringgate) = ringgate_bin() else {
        return;
    };
    let snippets = Default::default();
    let text = bench_harness::compare::confgen::ringgate(1, 9001, &snippets, None);
    let file = std::env::temp_dir().join(format!("ringbench-rg-{}.toml", std::process::id()));
    std::fs::write(&file, text).unwrap();
    let out = Command::new(ringgate)
        .arg("check")
        .arg("--config")
        .arg(&file)
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&file);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_proxy_that_cannot_start_is_reported_not_fatal() {
    let (ok, stdout, stderr) = run(
        &[
            "compare",
            "--proxies",
            "nginx",
            "--nginx",
            "/nonexistent/nginx",
            "--origin",
            "ringbench",
            "--scenarios",
            "small-get",
            "--duration",
            "200ms",
            "--warmup",
            "0",
            "--reps",
            "1",
            "--json",
            "-",
        ],
        Duration::from_secs(30),
    );
    assert!(ok, "{stderr}");
    let doc: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let r = &doc["scenarios"][0]["results"][0];
    assert!(r["error"].as_str().unwrap().contains("cannot start"), "{r}");
    assert!(stderr.contains("FAILED"), "{stderr}");
}

/// All descendants of `pid` (children of every thread, recursively).
fn descendants(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    let mut stack = Proc.children(pid);
    while let Some(p) = stack.pop() {
        out.push(p);
        stack.extend(Proc.children(p));
    }
    out
}

/// Gone, or a zombie waiting for a reaper that is not ours.
fn dead(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(s) => s
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
    }
}

#[test]
fn sigint_mid_run_kills_every_child() {
    let Some(ringgate) = ringgate_bin() else {
        return;
    };
    let mut child = Command::new(BIN)
        .args([
            "compare",
            "--proxies",
            "ringgate",
            "--origin",
            "ringbench",
            "--scenarios",
        ])
        .args([
            "small-get",
            "--duration",
            "20s",
            "--json",
            "-",
            "--ringgate",
        ])
        .arg(&ringgate)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Once a repetition starts, origin, ringgate and the load generator run.
    let stderr = child.stderr.take().unwrap();
    let started = BufReader::new(stderr)
        .lines()
        .any(|l| l.is_ok_and(|l| l.contains("rep 1/1") || l.contains("rep 1/3")));
    assert!(started, "compare never started a repetition");
    // The line comes just before the load generator is spawned.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut kids = descendants(child.id());
    while kids.len() < 3 {
        assert!(
            Instant::now() < deadline,
            "expected origin, ringgate and load: {kids:?}"
        );
        std::thread::sleep(Duration::from_millis(5));
        kids = descendants(child.id());
    }
    let st = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    let child = wait(child, Duration::from_secs(10));
    drop(child);
    let deadline = Instant::now() + Duration::from_secs(5);
    while !kids.iter().all(|&p| dead(p)) {
        assert!(
            Instant::now() < deadline,
            "children survived SIGINT: {kids:?}"
        );
        // Polling for the kernel to finish tearing processes down.
        std::thread::sleep(Duration::from_millis(20));
    }
}
