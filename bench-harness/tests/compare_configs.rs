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
    let text = confgen::ringgate(1, 9123, &snip, None);
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
    let text = confgen::nginx_proxy(&dir, 1, 18080, 19001, &snip, None);
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
    let text = confgen::haproxy(1, 18081, 19003, &snip, None);
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

/// Every scenario's nginx and haproxy configs, with the TLS certificate
/// the HTTPS scenarios use, pass the real checkers.
#[test]
fn every_scenario_config_is_valid() {
    use bench_harness::compare::proxy::ProxyKind;
    use bench_harness::compare::scenario::SCENARIOS;
    let dir = scratch("scenarios");
    let tls = bench_harness::compare::cert::write(&dir).unwrap();
    for sc in SCENARIOS {
        let t = sc.tls.then_some(&tls);
        let sub = dir.join(sc.name);
        std::fs::create_dir_all(&sub).unwrap();
        if sc.runs_on(ProxyKind::Nginx) {
            let text = confgen::nginx_proxy(&sub, 1, 18080, 19001, &sc.snippets, t);
            if sc.tls {
                assert!(text.contains("listen 127.0.0.1:18080 ssl"), "{text}");
                assert!(text.contains("ssl_certificate_key"), "{text}");
            }
            nginx_test(&sub, &text);
        }
        if sc.runs_on(ProxyKind::Haproxy) {
            let text = confgen::haproxy(1, 18081, 19003, &sc.snippets, t);
            if sc.tls {
                assert!(text.contains(" ssl crt "), "{text}");
            }
            if installed("haproxy") {
                let file = sub.join("haproxy.cfg");
                std::fs::write(&file, &text).unwrap();
                check(Command::new("haproxy").arg("-c").arg("-f").arg(&file));
            }
        }
        let rg = confgen::ringgate(1, 9123, &sc.snippets, t);
        assert_eq!(rg.contains("[listener.tls]"), sc.tls, "{rg}");
        // The TOML must parse (ringgate check runs in compare_e2e).
        rg.parse::<toml::Table>().unwrap();
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn new_scenarios_snippets() {
    use bench_harness::compare::proxy::ProxyKind;
    use bench_harness::compare::scenario::select;
    let names: Vec<String> = [
        "https-keepalive",
        "https-new-conn",
        "jwt-auth",
        "rate-limit",
    ]
    .map(String::from)
    .to_vec();
    let s = select(Some(&names)).unwrap();
    assert!(s[0].tls && s[1].tls && !s[2].tls && !s[3].tls);
    assert!(s[1].load_args.contains(&"--new-conn"));
    assert!(s[2].jwt && s[2].runs_on(ProxyKind::Ringgate) && !s[2].runs_on(ProxyKind::Nginx));
    assert!(s[2]
        .snippets
        .ringgate
        .contains("secret_env = \"RINGBENCH_JWT_SECRET\""));
    assert!(s[3].snippets.ringgate.contains("rate_limits = [\"bench\"]"));
    assert!(s[3].snippets.nginx_http.contains("limit_req_zone"));
    assert!(s[3]
        .snippets
        .nginx_location
        .contains("limit_req zone=bench"));
    assert!(s[3].snippets.haproxy_frontend.contains("track-sc0"));
    assert_eq!(s[2].baseline, Some("small-get"));
    let token = bench_harness::compare::cert::jwt_token().unwrap();
    assert_eq!(token.split('.').count(), 3);
}

/// Settings as `compare` resolves them, with an older ringgate or none.
fn settings(ringgate_base: Option<&str>) -> bench_harness::compare::Settings {
    use bench_harness::compare::proxy::{OriginKind, ProxyKind};
    bench_harness::compare::Settings {
        proxy_cpu: 1,
        load_cpu: 0,
        duration: std::time::Duration::from_secs(1),
        warmup: std::time::Duration::ZERO,
        reps: 1,
        origin: OriginKind::Ringbench,
        self_exe: PathBuf::from("/bin/ringbench"),
        ringgate: PathBuf::from("/new/ringgate"),
        ringgate_base: ringgate_base.map(PathBuf::from),
        proxies: vec![ProxyKind::Ringgate, ProxyKind::RinggateBase],
        nginx: "nginx".into(),
        haproxy: "haproxy".into(),
        dir: std::env::temp_dir(),
        tls: None,
        jwt: None,
    }
}

/// Program, arguments and environment of a command, for comparison.
fn command_parts(cmd: &Command) -> (String, Vec<String>, Vec<(String, String)>) {
    let s = |o: &std::ffi::OsStr| o.to_string_lossy().into_owned();
    (
        s(cmd.get_program()),
        cmd.get_args().map(s).collect(),
        cmd.get_envs()
            .map(|(k, v)| (s(k), v.map(s).unwrap_or_default()))
            .collect(),
    )
}

#[test]
fn ringgate_base_runs_its_own_binary_with_ringgates_config_and_env() {
    use bench_harness::compare::proxy::{ringgate_command, ProxyKind};
    use bench_harness::compare::scenario::{select, JWT_SECRET, JWT_SECRET_ENV};
    let s = settings(Some("/old/ringgate"));
    let conf = Path::new("/scratch/ringgate.toml");
    let names = ["jwt-auth".to_string(), "small-get".to_string()];
    for sc in select(Some(&names)).unwrap() {
        let new = command_parts(&ringgate_command(ProxyKind::Ringgate, &s, sc, conf).unwrap());
        let old = command_parts(&ringgate_command(ProxyKind::RinggateBase, &s, sc, conf).unwrap());
        assert_eq!(new.0, "/new/ringgate");
        assert_eq!(old.0, "/old/ringgate");
        assert_eq!(old.1, ["run", "--config", "/scratch/ringgate.toml"]);
        assert_eq!(old.1, new.1, "{}", sc.name);
        assert_eq!(old.2, new.2, "{}", sc.name);
        let want_env = if sc.jwt {
            vec![(JWT_SECRET_ENV.to_string(), JWT_SECRET.to_string())]
        } else {
            Vec::new()
        };
        assert_eq!(old.2, want_env, "{}", sc.name);
    }
}

#[test]
fn ringgate_command_refuses_what_it_cannot_run() {
    use bench_harness::compare::proxy::{ringgate_command, ProxyKind};
    use bench_harness::compare::scenario::SCENARIOS;
    let conf = Path::new("/scratch/ringgate.toml");
    let sc = &SCENARIOS[0];
    let err = ringgate_command(ProxyKind::RinggateBase, &settings(None), sc, conf).unwrap_err();
    assert_eq!(err, "ringgate-base needs --ringgate-base PATH");
    let err = ringgate_command(ProxyKind::Nginx, &settings(None), sc, conf).unwrap_err();
    assert_eq!(err, "nginx is not a ringgate");
}
