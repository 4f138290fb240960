//! The generated configs: content checks always, and validation by the
//! real `nginx -t` / `haproxy -c` when they are installed.

use bench_harness::compare::confgen;
use bench_harness::compare::scenario::Snippets;
use std::path::{Path, PathBuf};
use std::process::Command;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ringbench-conf-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn installed(bin: &str) -> bool {
    Command::new(bin).arg("-v").output().is_ok()
}

/// Runs a config checker; panics with its output on failure.
fn check(cmd: &mut Command) {
    let out = cmd.output().expect("run config check");
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn nginx_test(dir: &Path, conf: &str) {
    if !installed("nginx") {
        eprintln!("nginx not installed: skipping `nginx -t`");
        return;
    }
    let file = dir.join("nginx.conf");
    std::fs::write(&file, conf).unwrap();
    check(
        Command::new("nginx")
            .arg("-t")
            .arg("-p")
            .arg(dir)
            .arg("-c")
            .arg(&file)
            .arg("-e")
            .arg(dir.join("e.log")),
    );
}

#[test]
fn cpu_masks() {
    assert_eq!(confgen::nginx_cpu_mask(0), "1");
    assert_eq!(confgen::nginx_cpu_mask(1), "10");
    assert_eq!(confgen::nginx_cpu_mask(3), "1000");
}

#[test]
fn ringgate_config_has_one_pinned_worker_and_the_origin() {
    let snip = Snippets {
        ringgate: "methods = [\"GET\"]",
        ..Snippets::default()
    };
    let text = confgen::ringgate(1, 9123, &snip);
    let v: toml::Value = toml::from_str(&text).expect("valid TOML");
    assert_eq!(v["server"]["workers"].as_integer(), Some(1));
    assert_eq!(
        v["server"]["cpus"].as_array().unwrap()[0].as_integer(),
        Some(1)
    );
    assert_eq!(v["listener"][0]["name"].as_str(), Some("main"));
    assert_eq!(v["listener"][0]["address"].as_str(), Some("127.0.0.1:0"));
    assert_eq!(
        v["cluster"][0]["endpoints"][0].as_str(),
        Some("127.0.0.1:9123")
    );
    assert_eq!(v["route"][0]["cluster"].as_str(), Some("origin"));
    // The snippet's bare keys land in the route.
    assert_eq!(v["route"][0]["methods"][0].as_str(), Some("GET"));
}

#[test]
fn nginx_proxy_config() {
    let dir = scratch("nginx-proxy");
    let snip = Snippets {
        nginx_location: "proxy_set_header X-Test 1;",
        ..Snippets::default()
    };
    let text = confgen::nginx_proxy(&dir, 1, 18080, 19001, &snip);
    for want in [
        "daemon off;",
        "worker_processes 1;",
        "worker_cpu_affinity 10;",
        "access_log off;",
        "server 127.0.0.1:19001;",
        "keepalive 64;",
        "proxy_http_version 1.1;",
        "proxy_set_header Connection \"\";",
        "listen 127.0.0.1:18080",
        "proxy_set_header X-Test 1;",
        &format!("error_log {}/error.log", dir.display()),
    ] {
        assert!(text.contains(want), "missing `{want}` in:\n{text}");
    }
    nginx_test(&dir, &text);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn nginx_origin_config_serves_hello_and_files() {
    let dir = scratch("nginx-origin");
    let text = confgen::nginx_origin(&dir, 0, 19002, &[10240, 1048576]);
    assert!(text.contains("worker_cpu_affinity 1;"));
    assert!(text.contains("return 200 \"Hello, World!\";"));
    assert!(text.contains("location = /bytes/10240"));
    assert!(text.contains(&format!("alias {}/www/bytes-1048576;", dir.display())));
    nginx_test(&dir, &text);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn haproxy_config() {
    let snip = Snippets {
        haproxy_frontend: "    http-request set-header X-Test 1",
        ..Snippets::default()
    };
    let text = confgen::haproxy(1, 18081, 19003, &snip);
    for want in [
        "nbthread 1",
        "cpu-map 1/1 1",
        "mode http",
        "http-reuse always",
        "timeout client",
        "bind 127.0.0.1:18081",
        "server origin 127.0.0.1:19003",
        "http-request set-header X-Test 1",
    ] {
        assert!(text.contains(want), "missing `{want}` in:\n{text}");
    }
    if !installed("haproxy") {
        eprintln!("haproxy not installed: skipping `haproxy -c`");
        return;
    }
    let dir = scratch("haproxy");
    let file = dir.join("haproxy.cfg");
    std::fs::write(&file, &text).unwrap();
    check(Command::new("haproxy").arg("-c").arg("-f").arg(&file));
    let _ = std::fs::remove_dir_all(&dir);
}
