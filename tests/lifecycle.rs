//! The process around the proxy: CLI, config checking, WebSocket-style
//! upgrades, and graceful shutdown with requests in flight.

mod common;

use std::io::{Read, Write};
use std::process::Command;
use std::time::Duration;

use common::gateway::simple_config;
use common::upstream::{respond, After};
use common::{wait_until, Client, Gateway, Upstream};

fn ringgate(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_ringgate"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn version_and_help() {
    let v = ringgate(&["--version"]);
    assert!(v.status.success());
    assert!(String::from_utf8_lossy(&v.stdout).contains(env!("CARGO_PKG_VERSION")));
    let h = ringgate(&["--help"]);
    assert!(h.status.success());
    let text = String::from_utf8_lossy(&h.stdout);
    assert!(text.contains("run") && text.contains("check"), "{text}");
}

#[test]
fn check_accepts_the_shipped_config() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/config/ringgate.toml");
    let out = ringgate(&["check", "--config", path]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn check_lists_every_problem_with_its_key_path() {
    let dir = std::env::temp_dir().join(format!("ringgate-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bad.toml");
    std::fs::write(
        &path,
        r#"
[server]
workers = 0
bogus = 1

[timeouts]
client_idle = "ten seconds"

[[listener]]
name = "main"
address = "not-an-address"

[[cluster]]
name = "c"
endpoints = ["127.0.0.1:8080"]

[[route]]
name = "r"
cluster = "missing"
path_template = "/users/{id"
"#,
    )
    .unwrap();
    let out = ringgate(&["check", "--config", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    for key in [
        "server.workers",
        "server.bogus",
        "timeouts.client_idle",
        "listener[0].address",
        "route[0].cluster",
    ] {
        assert!(err.contains(key), "missing {key} in:\n{err}");
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn run_refuses_a_bad_config_with_nonzero_exit() {
    let dir = std::env::temp_dir().join(format!("ringgate-run-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bad.toml");
    std::fs::write(&path, "[[listener]]\nname = \"x\"\n").unwrap();
    let out = ringgate(&["run", "--config", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("listener[0]"));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn upgrade_is_tunnelled_both_ways_after_101() {
    let up = Upstream::start(|req, s| {
        if req.header("upgrade") != Some("websocket") || req.header("connection") != Some("upgrade")
        {
            respond(s, 400, &[], b"not an upgrade");
            return After::Close;
        }
        let _ = s.write_all(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nserver-first|");
        // Echo, upper-cased, until the client half-closes.
        let mut buf = [0u8; 1024];
        loop {
            match s.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let _ = s.write_all(&buf[..n].to_ascii_uppercase());
                }
            }
        }
        After::Close
    });
    let gw = Gateway::start(&simple_config(&[up.addr], ""));
    let mut c = Client::connect(gw.addr());
    let r = c.request(
        b"GET /ws HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
    );
    assert_eq!(r.status, 101);
    assert_eq!(r.header("upgrade"), Some("websocket"));
    let mut got = c.take_buffered();
    let mut buf = [0u8; 64];
    while !got.ends_with(b"|") {
        let n = c.stream.read(&mut buf).unwrap();
        assert!(n > 0);
        got.extend_from_slice(&buf[..n]);
    }
    assert_eq!(got, b"server-first|");
    for msg in [&b"hello"[..], b"tunnel"] {
        c.stream.write_all(msg).unwrap();
        let mut echo = vec![0u8; msg.len()];
        c.stream.read_exact(&mut echo).unwrap();
        assert_eq!(echo, msg.to_ascii_uppercase());
    }
    c.stream.shutdown(std::net::Shutdown::Write).unwrap();
    assert!(c.is_closed(), "tunnel ends when both sides are done");
}

#[test]
fn upgrade_is_refused_when_disabled() {
    let up = Upstream::start(|req, s| {
        assert!(
            req.header("upgrade").is_none(),
            "Upgrade forwarded although disabled"
        );
        respond(s, 200, &[], b"plain");
        After::KeepAlive
    });
    let gw = Gateway::start(&simple_config(
        &[up.addr],
        "[proxy]\nallow_upgrade = false\n",
    ));
    let r = Client::connect(gw.addr())
        .request(b"GET / HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n");
    assert_eq!(r.text(), "plain");
}

#[test]
fn sigterm_drains_in_flight_requests_then_exits_zero() {
    let (started_tx, started_rx) = std::sync::mpsc::channel::<()>();
    let started_tx = std::sync::Mutex::new(started_tx);
    let up = Upstream::start(move |req, s| {
        if req.path == "/slow" {
            let _ = started_tx.lock().unwrap().send(());
            std::thread::sleep(Duration::from_millis(700));
        }
        respond(s, 200, &[], req.path.as_bytes());
        After::KeepAlive
    });
    let mut gw = Gateway::start(&simple_config(&[up.addr], ""));
    let addr = gw.addr();
    // An idle keep-alive connection must be closed by the drain, not waited for.
    let mut idle = Client::connect(addr);
    assert_eq!(idle.get("/warm").status, 200);

    let in_flight = std::thread::spawn(move || Client::connect(addr).get("/slow"));
    started_rx.recv_timeout(Duration::from_secs(10)).unwrap();
    gw.signal(15);
    let r = in_flight.join().unwrap();
    assert_eq!(
        (r.status, r.text()),
        (200, "/slow".to_string()),
        "in-flight request completed"
    );
    assert_eq!(
        r.header("connection"),
        Some("close"),
        "draining announces the close"
    );
    assert!(idle.is_closed());
    let status = gw.wait_exit(Duration::from_secs(10));
    assert!(
        status.success(),
        "exit status {status:?}; stderr: {}",
        gw.stderr()
    );
    wait_until("listener closed", Duration::from_secs(5), || {
        std::net::TcpStream::connect(addr).is_err()
    });
}

#[test]
fn drain_timeout_bounds_shutdown() {
    let up = Upstream::start(|_req, _s| {
        std::thread::sleep(Duration::from_secs(30));
        After::Close
    });
    let cfg = simple_config(&[up.addr], "")
        .replace("drain_timeout = \"5s\"", "drain_timeout = \"300ms\"");
    let mut gw = Gateway::start(&cfg);
    let addr = gw.addr();
    let stuck = std::thread::spawn(move || {
        let mut c = Client::connect(addr);
        c.send(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n");
        c.read_to_end()
    });
    wait_until("request reached upstream", Duration::from_secs(10), || {
        up.request_count() == 1
    });
    gw.signal(2);
    let status = gw.wait_exit(Duration::from_secs(5));
    assert!(status.success());
    let _ = stuck.join();
}

#[test]
fn admin_serves_health_and_metrics_and_404s_the_rest() {
    let up = Upstream::hello();
    let gw = Gateway::start(&simple_config(
        &[up.addr],
        "[admin]\naddress = \"127.0.0.1:0\"\n",
    ));
    let admin = gw.listeners["admin"];
    assert_eq!(Client::connect(admin).get("/healthz").text(), "ok\n");
    let metrics = Client::connect(admin).get("/metrics");
    assert_eq!(
        metrics.header("content-type"),
        Some("text/plain; version=0.0.4")
    );
    assert!(metrics.text().contains("ringgate_workers 2\n"));
    assert_eq!(Client::connect(admin).get("/nope").status, 404);
}

/// A port that was free a moment ago (bound once for its number, then released).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Runs `ringgate run` with `args`; the output once it exits, or `None`
/// (after killing it) when it still runs after `timeout`.
fn run_until_exit(args: &[&str], timeout: Duration) -> Option<std::process::Output> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ringgate"))
        .arg("run")
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + timeout;
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Some(child.wait_with_output().unwrap())
}

#[test]
fn second_gateway_on_the_same_port_is_refused_and_the_first_keeps_serving() {
    let up = Upstream::hello();
    let port = free_port();
    let toml = simple_config(&[up.addr], "").replace("127.0.0.1:0", &format!("127.0.0.1:{port}"));
    let gw = Gateway::start(&toml);
    let config = gw.config_path();
    let out = run_until_exit(
        &["--config", config.to_str().unwrap()],
        Duration::from_secs(10),
    )
    .expect("the second gateway kept running on the first one's port");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "",
        "the second gateway announced a listener"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("listener main on 127.0.0.1:{port}"))
            && err.contains("--allow-shared-port"),
        "{err}"
    );
    // Several new connections: a second process in the SO_REUSEPORT group
    // would take a share of them.
    for _ in 0..8 {
        assert_eq!(Client::connect(gw.addr()).get("/").status, 200);
    }
    assert_eq!(up.request_count(), 8);
}

#[test]
fn allow_shared_port_lets_a_second_gateway_join_the_port() {
    let up = Upstream::hello();
    let port = free_port();
    let toml = simple_config(&[up.addr], "").replace("127.0.0.1:0", &format!("127.0.0.1:{port}"));
    let gw = Gateway::start(&toml);
    let config = gw.config_path();
    let mut second = Command::new(env!("CARGO_BIN_EXE_ringgate"))
        .args(["run", "--allow-shared-port", "--config"])
        .arg(&config)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(second.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    let _ = second.kill();
    let _ = second.wait();
    assert_eq!(
        line,
        format!("ringgate: listening on main 127.0.0.1:{port}\n")
    );
    drop(gw);
}

#[test]
fn upstream_connect_failures_are_logged_once_per_endpoint_per_interval() {
    let dead = std::net::SocketAddr::from(([127, 0, 0, 1], free_port()));
    let mut gw = Gateway::start(&simple_config(&[dead], ""));
    // New connections, so both workers see failures.
    for _ in 0..6 {
        assert_eq!(Client::connect(gw.addr()).get("/").status, 502);
    }
    gw.signal(15);
    assert!(gw.wait_exit(Duration::from_secs(10)).success());
    // "stopped" is the last line: everything before it has been read.
    wait_until("the log is complete", Duration::from_secs(5), || {
        gw.stderr().contains("ringgate: stopped")
    });
    let stderr = gw.stderr();
    let reports: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("connect failed"))
        .collect();
    assert_eq!(reports.len(), 1, "{stderr}");
    assert!(
        reports[0].starts_with(&format!(
            "ringgate: upstream {dead} (cluster up): connect failed: "
        )),
        "{stderr}"
    );
}

#[test]
fn check_resolves_endpoint_names_like_run_does() {
    let dir = std::env::temp_dir().join(format!("ringgate-check-dns-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("dns.toml");
    // `.invalid` never resolves (RFC 6761), with or without a network.
    std::fs::write(
        &path,
        "[[listener]]\nname = \"m\"\naddress = \"127.0.0.1:0\"\n\n\
         [[cluster]]\nname = \"c\"\nendpoints = [\"127.0.0.1:9\", \"no-such-host.invalid:80\"]\n\n\
         [[route]]\nname = \"r\"\ncluster = \"c\"\n",
    )
    .unwrap();
    let out = ringgate(&["check", "--config", path.to_str().unwrap()]);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 2, "{err}");
    assert!(
        lines[1].starts_with(
            "cluster[0].endpoints (line 7): endpoint \"no-such-host.invalid:80\" does not resolve: "
        ),
        "{err}"
    );
}
