//! `ringbench load` against `ringbench origin`, checked through `--json -`.

mod common;

use common::{load_json, Origin};
use serde_json::Value;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(30);

fn n(v: &Value, path: &[&str]) -> f64 {
    let mut cur = v;
    for key in path {
        cur = &cur[*key];
    }
    cur.as_f64()
        .unwrap_or_else(|| panic!("{path:?} missing in {v}"))
}

#[test]
fn counted_run_completes_every_request() {
    let origin = Origin::start(&["--threads", "2"]);
    let v = load_json(&["-n", "2000", "-c", "8", &origin.url("/")], LIMIT);
    assert_eq!(n(&v, &["requests"]), 2000.0, "{v}");
    assert_eq!(n(&v, &["status", "2xx"]), 2000.0);
    assert_eq!(n(&v, &["status", "codes", "200"]), 2000.0);
    assert_eq!(n(&v, &["errors", "total"]), 0.0);
    assert_eq!(n(&v, &["latency_us", "count"]), 2000.0);
    assert!(n(&v, &["bytes_read"]) > 2000.0 * 13.0);
}

#[test]
fn pipelined_weighted_urls() {
    let origin = Origin::start(&[]);
    let a = origin.url("/");
    let b = format!("{}@3", origin.url("/status/503"));
    let v = load_json(&["-n", "4000", "-c", "2", "--pipeline", "8", &a, &b], LIMIT);
    assert_eq!(n(&v, &["requests"]), 4000.0, "{v}");
    assert_eq!(n(&v, &["errors", "total"]), 0.0);
    let share = n(&v, &["status", "5xx"]) / 4000.0;
    assert!((0.65..0.85).contains(&share), "503 share {share}");
}

#[test]
fn open_loop_latency_matches_origin_delay() {
    let origin = Origin::start(&["--delay", "10ms"]);
    let v = load_json(
        &["--rate", "200", "-c", "8", "-d", "1s", &origin.url("/")],
        LIMIT,
    );
    let p50_ms = n(&v, &["latency_us", "p50"]) / 1000.0;
    assert!((9.0..=20.0).contains(&p50_ms), "p50 {p50_ms} ms: {v}");
    let requests = n(&v, &["requests"]);
    assert!(
        (150.0..=210.0).contains(&requests),
        "{requests} requests at 200/s for 1s"
    );
    assert_eq!(n(&v, &["errors", "total"]), 0.0);
}

/// A whole-origin stall must show up in the open-loop tail: requests
/// scheduled during the stall are charged from their scheduled time.
#[test]
fn open_loop_sees_stalls() {
    let origin = Origin::start(&["--stall-every", "500ms", "--stall-for", "300ms"]);
    let v = load_json(
        &["--rate", "200", "-c", "4", "-d", "1s", &origin.url("/")],
        LIMIT,
    );
    let p90_ms = n(&v, &["latency_us", "p90"]) / 1000.0;
    assert!(
        p90_ms >= 100.0,
        "p90 {p90_ms} ms should include the stall: {v}"
    );
}

#[test]
fn close_mid_response_is_a_read_error() {
    let origin = Origin::start(&["--fault", "close-mid-response", "--fault-rate", "0.5"]);
    let v = load_json(&["-n", "400", "-c", "4", &origin.url("/")], LIMIT);
    let (ok, read_errors) = (n(&v, &["requests"]), n(&v, &["errors", "read"]));
    assert!(read_errors > 50.0 && ok > 50.0, "{v}");
    assert_eq!(n(&v, &["errors", "total"]), read_errors);
}

#[test]
fn reset_and_never_answer_are_errors() {
    let origin = Origin::start(&["--fault", "reset"]);
    let v = load_json(&["-n", "100", "-c", "2", &origin.url("/")], LIMIT);
    assert_eq!(n(&v, &["requests"]), 0.0, "{v}");
    assert!(n(&v, &["errors", "read"]) > 0.0, "{v}");

    let origin = Origin::start(&["--fault", "never-answer"]);
    let v = load_json(
        &[
            "-d",
            "1s",
            "-c",
            "2",
            "--timeout",
            "200ms",
            &origin.url("/"),
        ],
        LIMIT,
    );
    assert_eq!(n(&v, &["requests"]), 0.0, "{v}");
    assert!(n(&v, &["errors", "timeout"]) >= 4.0, "{v}");
}

#[test]
fn new_connection_per_request_and_hist_file() {
    let origin = Origin::start(&[]);
    let hist = std::env::temp_dir().join(format!("ringbench-hist-{}.txt", std::process::id()));
    let hist_arg = hist.to_str().unwrap();
    let v = load_json(
        &[
            "-n",
            "300",
            "-c",
            "4",
            "--new-conn",
            "--hist",
            hist_arg,
            &origin.url("/"),
        ],
        LIMIT,
    );
    assert_eq!(n(&v, &["requests"]), 300.0, "{v}");
    assert_eq!(n(&v, &["errors", "total"]), 0.0);
    let text = std::fs::read_to_string(&hist).unwrap();
    std::fs::remove_file(&hist).unwrap();
    assert!(
        text.contains("1.000000000000") && text.contains("Total count    =          300"),
        "{text}"
    );
}

/// `--marks` (used by `ringbench compare` to sample CPU counters): both
/// markers always come out, start before end, even when the workers stop
/// at the same deadline as the end marker.
#[test]
fn marks_announce_the_measured_window() {
    let origin = Origin::start(&[]);
    for _ in 0..3 {
        let out = std::process::Command::new(common::BIN)
            .args([
                "load", "--marks", "-q", "-c", "4", "-t", "1", "--warmup", "100ms",
            ])
            .args(["-d", "200ms", &origin.url("/")])
            .output()
            .expect("run load");
        assert!(out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        let start = err.find("ringbench: measure start").expect("start mark");
        let end = err.find("ringbench: measure end").expect("end mark");
        assert!(start < end, "{err}");
    }
}

/// `openssl s_server -www` (one response per connection) with a generated
/// certificate. The tests using it are `#[ignore]`d, so a plain
/// `cargo test` reports them as not run instead of passing without
/// openssl; scripts/test.sh installs openssl and runs them.
struct TlsServer {
    child: std::process::Child,
    port: u16,
    dir: std::path::PathBuf,
}

impl TlsServer {
    fn start(name: &str) -> TlsServer {
        use std::process::{Command, Stdio};
        let dir = std::env::temp_dir().join(format!("ringbench-tls-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let tls = bench_harness::compare::cert::write(&dir).unwrap();
        let port = bench_harness::compare::probe::free_port().unwrap();
        let child = Command::new("openssl")
            .args(["s_server", "-quiet", "-www", "-accept"])
            .arg(format!("127.0.0.1:{port}"))
            .arg("-cert")
            .arg(&tls.cert)
            .arg("-key")
            .arg(&tls.key)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("run `openssl s_server` (install openssl, or use scripts/test.sh)");
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "s_server never listened"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        TlsServer { child, port, dir }
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
#[ignore = "needs the openssl binary; scripts/test.sh installs it and runs this"]
fn https_with_cacert_and_full_handshakes() {
    let server = TlsServer::start("ok");
    let url = format!("https://127.0.0.1:{}/", server.port);
    let cacert = server.dir.join("tls-cert.pem");
    let cacert = cacert.to_str().unwrap();
    for extra in [&[][..], &["--no-tls-resume"][..]] {
        let mut args = vec!["-n", "20", "-c", "2", "-t", "1", "--new-conn"];
        args.extend(["--cacert", cacert, &url]);
        args.extend(extra);
        let v = load_json(&args, LIMIT);
        assert_eq!(n(&v, &["status", "2xx"]), 20.0, "{v}");
        assert_eq!(n(&v, &["errors", "total"]), 0.0, "{v}");
    }
    // A certificate the server does not have: every handshake fails.
    let other = std::env::temp_dir().join(format!("ringbench-tls-other-{}", std::process::id()));
    std::fs::create_dir_all(&other).unwrap();
    let wrong = bench_harness::compare::cert::write(&other).unwrap().cert;
    let v = load_json(
        &[
            "-n",
            "3",
            "-c",
            "1",
            "-t",
            "1",
            "--timeout",
            "2s",
            "--new-conn",
            "--cacert",
            wrong.to_str().unwrap(),
            &url,
        ],
        LIMIT,
    );
    let _ = std::fs::remove_dir_all(&other);
    assert_eq!(n(&v, &["status", "2xx"]), 0.0, "{v}");
    assert!(n(&v, &["errors", "connect"]) >= 3.0, "{v}");
}
