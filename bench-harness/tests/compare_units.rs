//! Unit tests of `ringbench compare`'s pure parts, through the library
//! target: /proc parsing, CPU-tree sums, statistics, tables, SVG, configs.

use bench_harness::compare::measure::rep_from_json;
use bench_harness::compare::output::format_utc;
use bench_harness::compare::procstat::{
    parse_children, parse_cpu_busy, parse_schedstat_wait_ns, parse_stat, system_busy_s, tree_cpu_s,
    tree_runq_wait_s, tree_ticks, ProcSource, ProcStat,
};
use bench_harness::compare::proxy::ProxyKind;
use bench_harness::compare::scenario::{self, SCENARIOS};
use bench_harness::compare::summary::{spread, ProxyResult, ScenarioResult, Spread};
use bench_harness::compare::{svg, table, CompareArgs};
use clap::Parser;
use serde_json::json;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// A /proc/PID/stat line with `comm` as the name and the given times.
fn stat_line(pid: u32, comm: &str, utime: u64, stime: u64) -> String {
    // Fields 3..=13, then utime (14), stime (15), then a few more.
    format!("{pid} ({comm}) S 1 1 1 0 -1 4194560 100 0 0 0 {utime} {stime} 0 0 20 0 1 0 5 0 0")
}

#[test]
fn stat_parses_plain_names() {
    let s = parse_stat(&stat_line(42, "nginx", 120, 30)).unwrap();
    assert_eq!(
        s,
        ProcStat {
            pid: 42,
            utime: 120,
            stime: 30
        }
    );
}

#[test]
fn stat_parses_names_with_spaces_and_parentheses() {
    for comm in ["nginx: worker", "a) b", "((x))", ") 9 9 9", "x y z ) 1 2"] {
        let s = parse_stat(&stat_line(7, comm, 11, 22)).unwrap();
        assert_eq!((s.pid, s.utime, s.stime), (7, 11, 22), "comm {comm:?}");
    }
}

#[test]
fn schedstat_wait_is_the_second_field() {
    assert_eq!(
        parse_schedstat_wait_ns("2663416153 6044190611 98012\n"),
        Some(6_044_190_611)
    );
    assert_eq!(parse_schedstat_wait_ns("12"), None);
    assert_eq!(parse_schedstat_wait_ns(""), None);
}

#[test]
fn runq_wait_of_a_starved_thread_grows() {
    // Two threads pinned to one CPU, both busy: each waits for the other,
    // and the wait must show (the proxy starvation check relies on it).
    // Sampled while they still live: an exited thread's schedstat is gone.
    let me = std::process::id();
    let before = tree_runq_wait_s(me);
    let until = Instant::now() + Duration::from_millis(300);
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let done_rx = std::sync::Arc::new(std::sync::Mutex::new(done_rx));
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let done_rx = done_rx.clone();
            std::thread::spawn(move || {
                monoio::utils::bind_to_cpu_set([0]).unwrap();
                while Instant::now() < until {}
                let _ = done_rx.lock().unwrap().recv();
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(400));
    let waited = tree_runq_wait_s(me) - before;
    drop(done_tx);
    threads.into_iter().for_each(|t| t.join().unwrap());
    assert!(
        waited > 0.05,
        "two busy threads on one CPU for 0.3 s waited {waited} s"
    );
}

#[test]
fn stat_rejects_garbage() {
    for bad in [
        "",
        "42",
        "42 (x",
        "x (y) S 1",
        "42 (x) S 1 2 3",
        "42 (x) S 1 1 1 0 -1 4 1 0 0 0 u s",
    ] {
        assert_eq!(parse_stat(bad), None, "{bad:?}");
    }
}

#[test]
fn stat_of_this_process_parses() {
    let text = std::fs::read_to_string("/proc/self/stat").unwrap();
    let s = parse_stat(&text).unwrap();
    assert_eq!(s.pid, std::process::id());
}

#[test]
fn children_lists_parse() {
    assert_eq!(parse_children("12 13 14 "), vec![12, 13, 14]);
    assert_eq!(parse_children(""), Vec::<u32>::new());
    assert_eq!(parse_children("5\n x 6"), vec![5, 6]);
}

/// A fake /proc: pid → (stat line, children).
struct FakeProc(HashMap<u32, (String, Vec<u32>)>);

impl FakeProc {
    fn new(entries: &[(u32, u64, u64, &[u32])]) -> FakeProc {
        FakeProc(
            entries
                .iter()
                .map(|&(pid, u, s, kids)| (pid, (stat_line(pid, "p (x)", u, s), kids.to_vec())))
                .collect(),
        )
    }
}

impl ProcSource for FakeProc {
    fn stat(&self, pid: u32) -> Option<String> {
        self.0.get(&pid).map(|e| e.0.clone())
    }
    fn children(&self, pid: u32) -> Vec<u32> {
        self.0.get(&pid).map(|e| e.1.clone()).unwrap_or_default()
    }
}

#[test]
fn tree_sums_root_and_all_descendants() {
    // master 1 → workers 2, 3; worker 3 → helper 4; 5 is not in the tree.
    let p = FakeProc::new(&[
        (1, 10, 5, &[2, 3]),
        (2, 100, 50, &[]),
        (3, 7, 3, &[4]),
        (4, 1, 1, &[]),
        (5, 1000, 1000, &[]),
    ]);
    assert_eq!(tree_ticks(&p, 1), 15 + 150 + 10 + 2);
    assert_eq!(tree_ticks(&p, 3), 12);
}

#[test]
fn tree_tolerates_vanished_processes_and_loops() {
    // 9 is listed as a child but gone; 2 lists its parent (cannot happen,
    // but must not hang).
    let p = FakeProc::new(&[(1, 1, 1, &[2, 9]), (2, 2, 2, &[1])]);
    assert_eq!(tree_ticks(&p, 1), 6);
    assert_eq!(tree_ticks(&p, 12345), 0);
}

#[test]
fn tree_cpu_of_this_process_grows_with_work() {
    let pid = std::process::id();
    let before = tree_cpu_s(pid);
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut x = 0u64;
    // Burn CPU until the kernel's tick counters show 20ms more.
    while tree_cpu_s(pid) < before + 0.02 {
        for i in 0..100_000u64 {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(i));
        }
        assert!(Instant::now() < deadline, "CPU time did not grow");
    }
}

#[test]
fn system_busy_is_user_nice_system() {
    let stat = "cpu  100 5 40 9000 7 3 2 0 0 0\ncpu0 50 2 20 4500 3 1 1 0 0 0\n";
    assert_eq!(parse_cpu_busy(stat), Some(145));
    assert_eq!(parse_cpu_busy("cpu0 1 2 3 4\n"), None);
    assert_eq!(parse_cpu_busy("cpu  1 x 3\n"), None);
    assert!(system_busy_s() > 0.0);
}

#[test]
fn spread_is_median_min_max() {
    let s = |v: &[f64]| spread(v).unwrap();
    assert_eq!(
        s(&[3.0, 1.0, 2.0]),
        Spread {
            median: 2.0,
            min: 1.0,
            max: 3.0
        }
    );
    assert_eq!(
        s(&[4.0, 1.0, 3.0, 2.0]),
        Spread {
            median: 2.5,
            min: 1.0,
            max: 4.0
        }
    );
    assert_eq!(
        s(&[5.0]),
        Spread {
            median: 5.0,
            min: 5.0,
            max: 5.0
        }
    );
    assert_eq!(spread(&[]), None);
}

fn load_doc(requests: u64, errors: u64, status_5xx: u64) -> serde_json::Value {
    json!({
        "requests": requests, "requests_per_s": requests as f64 / 8.0,
        "latency_us": { "p50": 100, "p99": 900, "p99_9": 2000 },
        "status": { "1xx": 0, "2xx": requests - status_5xx, "3xx": 0, "4xx": 0, "5xx": status_5xx },
        "errors": { "total": errors },
    })
}

#[test]
fn rep_divides_cpu_by_requests_and_counts_errors() {
    let r = rep_from_json(&load_doc(100_000, 0, 0), 1.5).unwrap();
    assert!((r.cpu_us_per_req - 15.0).abs() < 1e-9);
    assert_eq!((r.requests, r.errors, r.p99_9_us), (100_000, 0, 2000.0));
    let r = rep_from_json(&load_doc(980, 10, 10), 0.1).unwrap();
    assert_eq!(r.errors, 20);
    assert!((r.error_rate - 20.0 / 990.0).abs() < 1e-12);
    assert!(rep_from_json(&json!({}), 1.0).is_err());
}

fn result(proxy: &str, cpu: &[f64], rps: &[f64], fail: u64) -> ProxyResult {
    let reps = cpu
        .iter()
        .zip(rps)
        .map(|(&c, &r)| {
            let mut rep = rep_from_json(&load_doc(1000, fail, 0), c * 1000.0 / 1e6).unwrap();
            rep.requests_per_s = r;
            rep
        })
        .collect();
    ProxyResult::new(proxy, reps, None)
}

fn sample() -> ScenarioResult {
    let mut sc = ScenarioResult {
        scenario: "small-get".into(),
        about: "a <test> & more".into(),
        baseline: None,
        results: vec![
            result(
                "ringgate",
                &[10.0, 12.0, 11.0],
                &[50_000.0, 52_000.0, 51_000.0],
                0,
            ),
            result(
                "nginx",
                &[20.0, 22.0, 21.0],
                &[40_000.0, 41_000.0, 39_000.0],
                0,
            ),
            {
                let mut r = result("haproxy", &[18.0], &[45_000.0], 50);
                r.other_cpu_pct = 37.0;
                r.proxy_wait_pct = 61.0;
                r
            },
            ProxyResult::new("broken", Vec::new(), Some("did not start: bind".into())),
        ],
    };
    sc.compute_ratios();
    sc
}

#[test]
fn ratios_flags_and_tables() {
    let sc = sample();
    let rg = &sc.results[0];
    assert!((rg.cpu_us_per_req.median - 11.0).abs() < 1e-9);
    assert!((rg.cpu_vs_nginx.unwrap() - 11.0 / 21.0).abs() < 1e-9);
    assert!((rg.rps_vs_nginx.unwrap() - 51.0 / 40.0).abs() < 1e-9);
    assert!(!rg.flagged && sc.results[2].flagged);
    assert_eq!(sc.results[3].cpu_vs_nginx, None);

    let md = table::markdown(&sc);
    assert!(md.contains("| proxy | req/s | p50 | p99 | p99.9 | CPU µs/req |"));
    assert!(md.contains("| ringgate | 51000 (50000–52000) |"));
    assert!(md.contains("11.00 (10.00–12.00) | 1.27 | 0.52 |"));
    assert!(md.contains(
        "⚠ errors 4.8% > 1%; ⚠ other processes: 37% CPU; ⚠ starved: waited for its CPU 61% of the time"
    ));
    assert!(md.contains("FAILED: did not start: bind"));
    let text = table::text(&sc);
    assert_eq!(text.lines().count(), 2 + 4);
}

/// A minimal XML well-formedness check: tags balance, attributes quoted,
/// no raw `&` or `<` in text.
fn assert_well_formed(xml: &str) {
    let mut stack: Vec<String> = Vec::new();
    let mut rest = xml;
    while let Some(lt) = rest.find('<') {
        let text = &rest[..lt];
        assert!(!text.contains('>'), "stray > in text {text:?}");
        for (i, _) in text.match_indices('&') {
            let ent = &text[i..];
            assert!(
                ["&amp;", "&lt;", "&gt;", "&quot;", "&apos;"]
                    .iter()
                    .any(|e| ent.starts_with(e)),
                "raw & in {text:?}"
            );
        }
        let gt = rest[lt..].find('>').expect("unclosed tag") + lt;
        let tag = &rest[lt + 1..gt];
        assert_eq!(
            tag.matches('"').count() % 2,
            0,
            "unbalanced quotes in <{tag}>"
        );
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(stack.pop().as_deref(), Some(name), "mismatched </{name}>");
        } else if !tag.ends_with('/') {
            stack.push(tag.split_whitespace().next().unwrap().to_string());
        }
        rest = &rest[gt + 1..];
    }
    assert!(stack.is_empty(), "unclosed tags {stack:?}");
    assert!(rest.trim().is_empty());
}

#[test]
fn svg_is_well_formed_with_bars_axes_and_legend() {
    let doc = svg::chart("compare <run> & co", &[sample(), sample()]);
    assert_well_formed(&doc);
    assert!(doc.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    assert!(doc.contains("compare &lt;run&gt; &amp; co"));
    for name in [
        "ringgate",
        "nginx",
        "haproxy",
        "small-get",
        "CPU µs per request",
        "requests per second",
    ] {
        assert!(doc.contains(name), "missing {name}");
    }
    // 3 proxies with data × 2 scenarios × 2 panels, plus background and legend.
    assert_eq!(doc.matches("<rect").count(), 12 + 1 + 4);
    assert_well_formed(&svg::chart("empty", &[]));
}

#[test]
fn ticks_are_round() {
    assert_eq!(svg::tick_step(10.0), 2.0);
    assert_eq!(svg::tick_step(57_000.0), 20_000.0);
    assert_eq!(svg::tick_step(23.0), 5.0);
    assert_eq!(svg::tick_step(0.0), 1.0);
    assert_eq!(svg::escape("a<b>&\"'"), "a&lt;b&gt;&amp;&quot;&apos;");
}

#[test]
fn scenarios_select_and_sizes() {
    let all = scenario::select(None).unwrap();
    assert_eq!(all.len(), SCENARIOS.len());
    let names: Vec<String> = ["new-conn", "1m"].map(String::from).to_vec();
    let picked = scenario::select(Some(&names)).unwrap();
    assert_eq!(
        picked.iter().map(|s| s.name).collect::<Vec<_>>(),
        ["new-conn", "1m"]
    );
    let err = scenario::select(Some(&["nope".to_string()])).unwrap_err();
    assert!(err.contains("unknown scenario `nope`") && err.contains("small-get"));
    assert_eq!(scenario::body_sizes(&all), vec![10240, 1048576]);
}

#[test]
fn utc_timestamps() {
    assert_eq!(format_utc(0), "19700101-000000");
    assert_eq!(format_utc(1_700_000_000), "20231114-221320");
    assert_eq!(format_utc(951_782_400), "20000229-000000");
}

/// `ringbench compare`'s flags, parsed as the binary parses them.
#[derive(Parser, Debug)]
struct CompareCli {
    #[command(flatten)]
    args: CompareArgs,
}

fn proxies_of(flags: &[&str]) -> Result<Vec<ProxyKind>, String> {
    let argv = std::iter::once("compare").chain(flags.iter().copied());
    CompareCli::try_parse_from(argv)
        .map_err(|e| e.to_string())?
        .args
        .proxies()
}

#[test]
fn proxies_default_gains_ringgate_base_with_its_binary() {
    use ProxyKind::*;
    assert_eq!(proxies_of(&[]).unwrap(), [Ringgate, Nginx, Haproxy]);
    assert_eq!(
        proxies_of(&["--ringgate-base", "/old/ringgate"]).unwrap(),
        [Ringgate, RinggateBase, Nginx, Haproxy]
    );
}

#[test]
fn proxies_keep_the_given_order() {
    use ProxyKind::*;
    let flags = [
        "--proxies",
        "ringgate,ringgate-base,nginx",
        "--ringgate-base",
        "/old/ringgate",
    ];
    assert_eq!(proxies_of(&flags).unwrap(), [Ringgate, RinggateBase, Nginx]);
    let flags = [
        "--ringgate-base",
        "/old/ringgate",
        "--proxies",
        "nginx,ringgate-base,ringgate",
    ];
    assert_eq!(proxies_of(&flags).unwrap(), [Nginx, RinggateBase, Ringgate]);
    // Without ringgate-base in the list the binary is simply not run.
    let flags = ["--ringgate-base", "/old/ringgate", "--proxies", "ringgate"];
    assert_eq!(proxies_of(&flags).unwrap(), [Ringgate]);
}

#[test]
fn ringgate_base_without_its_binary_is_an_error() {
    let err = proxies_of(&["--proxies", "ringgate,ringgate-base,nginx"]).unwrap_err();
    assert_eq!(
        err,
        "--proxies lists `ringgate-base`, which needs --ringgate-base PATH \
         (the older ringgate binary to compare with)"
    );
}

#[test]
fn a_proxy_listed_twice_is_an_error() {
    let err = proxies_of(&["--proxies", "nginx,ringgate,nginx"]).unwrap_err();
    assert_eq!(err, "--proxies lists `nginx` twice");
    let err = proxies_of(&["--proxies", "ringgatebase"]).unwrap_err();
    assert!(err.contains("ringgate-base"), "{err}");
}

#[test]
fn ringgate_base_runs_wherever_ringgate_does() {
    let jwt = SCENARIOS.iter().find(|s| s.name == "jwt-auth").unwrap();
    assert!(jwt.runs_on(ProxyKind::Ringgate));
    assert!(jwt.runs_on(ProxyKind::RinggateBase));
    assert!(!jwt.runs_on(ProxyKind::Nginx) && !jwt.runs_on(ProxyKind::Haproxy));
    for sc in SCENARIOS {
        assert_eq!(
            sc.runs_on(ProxyKind::RinggateBase),
            sc.runs_on(ProxyKind::Ringgate),
            "{}",
            sc.name
        );
    }
    assert_eq!(ProxyKind::RinggateBase.config_kind(), ProxyKind::Ringgate);
    assert_eq!(ProxyKind::RinggateBase.name(), "ringgate-base");
}

/// ringgate, ringgate-base and nginx, with ratios computed.
fn sample_with_base() -> ScenarioResult {
    let mut sc = ScenarioResult {
        scenario: "small-get".into(),
        about: "GET".into(),
        baseline: None,
        results: vec![
            result(
                "ringgate",
                &[9.0, 10.0, 11.0],
                &[60_000.0, 62_000.0, 61_000.0],
                0,
            ),
            result(
                "ringgate-base",
                &[12.0, 12.5, 13.0],
                &[50_000.0, 50_500.0, 51_000.0],
                0,
            ),
            result("nginx", &[20.0], &[40_000.0], 0),
        ],
    };
    sc.compute_ratios();
    sc
}

#[test]
fn ratios_to_ringgate_base() {
    let sc = sample_with_base();
    let [rg, base, nginx] = &sc.results[..] else {
        panic!("three results");
    };
    assert!((rg.cpu_vs_base.unwrap() - 10.0 / 12.5).abs() < 1e-12);
    assert!((rg.rps_vs_base.unwrap() - 61_000.0 / 50_500.0).abs() < 1e-12);
    assert_eq!((base.rps_vs_base, base.cpu_vs_base), (Some(1.0), Some(1.0)));
    assert!((nginx.cpu_vs_base.unwrap() - 20.0 / 12.5).abs() < 1e-12);
    // The nginx ratios are unaffected, ringgate-base gets its own.
    assert!((base.cpu_vs_nginx.unwrap() - 12.5 / 20.0).abs() < 1e-12);
    // Without ringgate-base (the old sample) nothing is filled in.
    assert!(sample().results.iter().all(|r| r.rps_vs_base.is_none()));
}

#[test]
fn ratios_to_a_failed_ringgate_base_stay_empty() {
    let mut sc = ScenarioResult {
        results: vec![
            result("ringgate", &[10.0], &[60_000.0], 0),
            ProxyResult::new("ringgate-base", Vec::new(), Some("did not start".into())),
        ],
        ..ScenarioResult::default()
    };
    sc.compute_ratios();
    assert!(sc.results.iter().all(|r| r.cpu_vs_base.is_none()));
    // No base columns then; the base row says why.
    let md = table::markdown(&sc);
    assert!(!md.contains("÷ base"), "{md}");
    assert!(md.contains("| ringgate-base | — |"), "{md}");
    assert!(md.contains("FAILED: did not start"), "{md}");
}

#[test]
fn tables_get_base_columns_when_ringgate_base_ran() {
    let sc = sample_with_base();
    let md = table::markdown(&sc);
    let lines: Vec<&str> = md.lines().collect();
    assert_eq!(
        lines[2],
        "| proxy | req/s | p50 | p99 | p99.9 | CPU µs/req | req/s ÷ nginx | CPU ÷ nginx \
         | req/s ÷ base | CPU ÷ base | note |"
    );
    assert_eq!(lines[3], format!("|{}", "---|".repeat(11)));
    // Every row has as many cells as the header.
    for row in &lines[4..] {
        assert_eq!(row.matches(" | ").count(), 10, "{row}");
    }
    assert!(
        lines[4].ends_with("| 1.52 | 0.50 | 1.21 | 0.80 |  |"),
        "{}",
        lines[4]
    );
    assert!(lines[5].starts_with("| ringgate-base | 50500 (50000–51000) |"));
    assert!(lines[5].ends_with("| 1.00 | 1.00 |  |"), "{}", lines[5]);
    let text = table::text(&sc);
    let head = text.lines().nth(1).unwrap();
    assert!(
        head.contains("CPU ÷ nginx  req/s ÷ base  CPU ÷ base  note"),
        "{head}"
    );
    assert_eq!(text.lines().count(), 2 + 3);
    // The old tables are unchanged: nine columns.
    let old = table::markdown(&sample());
    assert!(old.contains("| CPU ÷ nginx | note |"), "{old}");
}

#[test]
fn json_labels_ringgate_base_and_its_ratios() {
    let sc = sample_with_base();
    let v = serde_json::to_value(&sc).unwrap();
    let results = v["results"].as_array().unwrap();
    let names: Vec<&str> = results
        .iter()
        .map(|r| r["proxy"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["ringgate", "ringgate-base", "nginx"]);
    assert_eq!(results[1]["rps_vs_base"], 1.0);
    assert_eq!(results[1]["cpu_vs_base"], 1.0);
    assert_eq!(results[0]["cpu_vs_base"], 0.8);
    // The run's proxy list serializes with the same labels.
    let kinds = serde_json::to_value([ProxyKind::Ringgate, ProxyKind::RinggateBase]).unwrap();
    assert_eq!(kinds, json!(["ringgate", "ringgate-base"]));
    // Without ringgate-base the fields are there, null.
    let old = serde_json::to_value(sample()).unwrap();
    assert!(old["results"][0]["rps_vs_base"].is_null());
    assert!(old["results"][0]
        .as_object()
        .unwrap()
        .contains_key("cpu_vs_base"));
}

#[test]
fn svg_labels_ringgate_base() {
    let doc = svg::chart("base", &[sample_with_base()]);
    assert_well_formed(&doc);
    assert_eq!(doc.matches(">ringgate-base</text>").count(), 1, "legend");
    // 3 proxies × 2 panels, plus background and 3 legend swatches.
    assert_eq!(doc.matches("<rect").count(), 6 + 1 + 3);
}
