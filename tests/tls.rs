//! TLS termination and upstream TLS over real sockets: rustls clients (std
//! sockets) against the real gateway, certificates made at test time.

mod common;

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

use common::gateway::{config, simple_config};
use common::tls::{any_cert_client, connect, get, Pki, TlsUpstream};
use common::{wait_until, Gateway, Upstream};
use rustls::version::{TLS12, TLS13};

/// `[listener.tls]` lines for `certs` (cert, key, server_names), then `extra`
/// keys of the same table.
fn tls_table(certs: &[(&common::tls::Leaf, &[&str])], extra: &str) -> String {
    let entries: Vec<String> = certs
        .iter()
        .map(|(leaf, names)| {
            let names: Vec<String> = names.iter().map(|n| format!("{n:?}")).collect();
            format!(
                "{{ cert = {:?}, key = {:?}, server_names = [{}] }}",
                leaf.cert.display().to_string(),
                leaf.key.display().to_string(),
                names.join(", ")
            )
        })
        .collect();
    format!(
        "[listener.tls]\ncertificates = [{}]\n{extra}\n",
        entries.join(", ")
    )
}

/// A gateway whose `main` listener is HTTPS, in front of `up`.
fn https_gateway(up: SocketAddr, tls: &str) -> Gateway {
    Gateway::start(&simple_config(
        &[up],
        &format!("[admin]\naddress = \"127.0.0.1:0\"\n\n{tls}"),
    ))
}

/// Two certificates: `default.test` first (the default), then `a.test` and `*.b.test`.
fn two_certs(pki: &Pki) -> (common::tls::Leaf, common::tls::Leaf) {
    (
        pki.leaf("default", &["default.test"]),
        pki.leaf("named", &["a.test", "*.b.test"]),
    )
}

#[test]
fn https_get_reaches_a_plain_upstream_with_proto_https() {
    let pki = Pki::new();
    let (default, named) = two_certs(&pki);
    let up = Upstream::hello();
    let gw = https_gateway(
        up.addr,
        &tls_table(&[(&default, &[]), (&named, &["a.test", "*.b.test"])], ""),
    );
    let mut s = connect(
        gw.addr(),
        pki.client(&[&TLS13, &TLS12], &["http/1.1"]),
        "default.test",
    )
    .unwrap();
    let r = get(&mut s, "/x");
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "hello from /x");
    // Keep-alive over TLS.
    assert_eq!(get(&mut s, "/y").text(), "hello from /y");
    let reqs = up.requests();
    assert_eq!(reqs[0].header("x-forwarded-proto"), Some("https"));
    assert!(gw.metric("ringgate_tls_handshakes_total") >= 1);
}

#[test]
fn forwarded_header_says_https() {
    let pki = Pki::new();
    let leaf = pki.leaf("default", &["default.test"]);
    let up = Upstream::hello();
    let cfg = simple_config(
        &[up.addr],
        &format!(
            "[proxy]\nforwarded_headers = \"forwarded\"\n\n{}",
            tls_table(&[(&leaf, &[])], "")
        ),
    );
    let gw = Gateway::start(&cfg);
    let mut s = connect(gw.addr(), pki.client(&[&TLS13], &[]), "default.test").unwrap();
    assert_eq!(get(&mut s, "/").status, 200);
    let fwd = up.requests()[0].header("forwarded").unwrap().to_string();
    assert!(fwd.contains("proto=https"), "{fwd}");
}

#[test]
fn sni_selects_the_certificate_and_unknown_names_get_the_default() {
    let pki = Pki::new();
    let (default, named) = two_certs(&pki);
    let up = Upstream::hello();
    let gw = https_gateway(
        up.addr,
        &tls_table(&[(&default, &[]), (&named, &["a.test", "*.b.test"])], ""),
    );
    // Verified clients: the handshake only succeeds if the certificate
    // served carries the requested name.
    let verified = pki.client(&[&TLS13, &TLS12], &[]);
    for (sni, want) in [
        ("a.test", &named),
        ("x.b.test", &named),
        ("default.test", &default),
    ] {
        let s = connect(gw.addr(), verified.clone(), sni).unwrap();
        let peer = s.conn.peer_certificates().unwrap()[0].clone();
        assert_eq!(peer, want.der, "SNI {sni}");
    }
    // A wildcard covers exactly one label; unknown names and no SNI at all
    // get the first certificate.
    for (sni, send) in [
        ("y.x.b.test", true),
        ("unknown.test", true),
        ("ignored.test", false),
    ] {
        let s = connect(gw.addr(), any_cert_client(send), sni).unwrap();
        let peer = s.conn.peer_certificates().unwrap()[0].clone();
        assert_eq!(peer, default.der, "SNI {sni} (sent: {send})");
    }
}

#[test]
fn tls_versions_follow_min_version() {
    let pki = Pki::new();
    let leaf = pki.leaf("default", &["default.test"]);
    let up = Upstream::hello();
    let gw12 = https_gateway(up.addr, &tls_table(&[(&leaf, &[])], ""));
    for version in [&TLS12, &TLS13] {
        let mut s = connect(gw12.addr(), pki.client(&[version], &[]), "default.test").unwrap();
        assert_eq!(s.conn.protocol_version(), Some(version.version));
        assert_eq!(get(&mut s, "/").status, 200);
    }
    let gw13 = https_gateway(
        up.addr,
        &tls_table(&[(&leaf, &[])], "min_version = \"1.3\""),
    );
    assert!(connect(gw13.addr(), pki.client(&[&TLS12], &[]), "default.test").is_err());
    let mut s = connect(gw13.addr(), pki.client(&[&TLS13], &[]), "default.test").unwrap();
    assert_eq!(get(&mut s, "/").status, 200);
    wait_until(
        "the refused handshake to be counted",
        Duration::from_secs(10),
        || gw13.metric("ringgate_tls_handshake_failures_total") >= 1,
    );
}

#[test]
fn alpn_negotiates_http11() {
    let pki = Pki::new();
    let leaf = pki.leaf("default", &["default.test"]);
    let up = Upstream::hello();
    let gw = https_gateway(up.addr, &tls_table(&[(&leaf, &[])], ""));
    let s = connect(
        gw.addr(),
        pki.client(&[&TLS13], &["h2", "http/1.1"]),
        "default.test",
    )
    .unwrap();
    assert_eq!(s.conn.alpn_protocol(), Some(&b"http/1.1"[..]));
    // A client offering only h2 shares no protocol with us: refused.
    assert!(connect(gw.addr(), pki.client(&[&TLS13], &["h2"]), "default.test").is_err());
}

#[test]
fn sessions_resume() {
    let pki = Pki::new();
    let leaf = pki.leaf("default", &["default.test"]);
    let up = Upstream::hello();
    let gw = https_gateway(up.addr, &tls_table(&[(&leaf, &[])], ""));
    for version in [&TLS13, &TLS12] {
        // One client config: its session store carries the ticket over.
        let client = pki.client(&[version], &[]);
        let mut first = connect(gw.addr(), client.clone(), "default.test").unwrap();
        assert_eq!(
            first.conn.handshake_kind(),
            Some(rustls::HandshakeKind::Full)
        );
        // Reading a response also reads the TLS 1.3 tickets sent after the handshake.
        assert_eq!(get(&mut first, "/").status, 200);
        let mut second = connect(gw.addr(), client, "default.test").unwrap();
        assert_eq!(
            second.conn.handshake_kind(),
            Some(rustls::HandshakeKind::Resumed),
            "{version:?}"
        );
        assert_eq!(get(&mut second, "/").status, 200);
    }
    assert!(gw.metric("ringgate_tls_resumed_total") >= 2);
}

#[test]
fn check_names_a_bad_certificate_path() {
    let pki = Pki::new();
    let (default, named) = two_certs(&pki);
    let dir = pki.dir.join("cfg");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bad.toml");
    let mut text = config(
        &["127.0.0.1:9".parse().unwrap()],
        "[[route]]\nname = \"all\"\ncluster = \"up\"\n",
    );
    text.push_str(&format!(
        "[listener.tls]\ncertificates = [\n  {{ cert = {:?}, key = {:?} }},\n  {{ cert = {:?}, key = \"missing.key\", server_names = [\"a.test\"] }},\n]\n",
        default.cert.display().to_string(),
        default.key.display().to_string(),
        named.cert.display().to_string(),
    ));
    std::fs::write(&path, &text).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_ringgate"))
        .args(["check", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("listener[0].tls.certificates[1].key"),
        "{stderr}"
    );
    // Relative paths are relative to the config file's directory.
    assert!(
        stderr.contains(&dir.join("missing.key").display().to_string()),
        "{stderr}"
    );
    // A key that does not belong to its certificate.
    let text = text.replace(
        "key = \"missing.key\"",
        &format!("key = {:?}", default.key.display().to_string()),
    );
    std::fs::write(&path, &text).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_ringgate"))
        .args(["check", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("listener[0].tls.certificates[1].key"),
        "{stderr}"
    );
    assert!(stderr.contains("does not belong"), "{stderr}");
}

#[test]
fn sighup_reloads_certificates_for_new_connections() {
    let pki = Pki::new();
    let old = pki.leaf("old", &["default.test"]);
    let new = pki.leaf("new", &["default.test"]);
    // The gateway reads `live.pem`/`live.key`: start with `old` there.
    let live = pki.leaf("live", &["default.test"]);
    std::fs::write(&live.cert, &old.cert_pem).unwrap();
    std::fs::write(&live.key, &old.key_pem).unwrap();
    let up = Upstream::hello();
    let gw = https_gateway(up.addr, &tls_table(&[(&live, &[])], ""));
    let client = any_cert_client(true);
    let peer = |gw: &Gateway| {
        let s = connect(gw.addr(), client.clone(), "default.test").unwrap();
        s.conn.peer_certificates().unwrap()[0].clone()
    };
    assert_eq!(peer(&gw), old.der);
    // An open connection keeps working across the reload.
    let mut kept = connect(gw.addr(), pki.client(&[&TLS13], &[]), "default.test").unwrap();
    std::fs::write(&live.key, &new.key_pem).unwrap();
    std::fs::write(&live.cert, &new.cert_pem).unwrap();
    gw.signal(1);
    wait_until(
        "new connections to get the new certificate",
        Duration::from_secs(10),
        || peer(&gw) == new.der,
    );
    assert_eq!(get(&mut kept, "/still").text(), "hello from /still");
}

#[test]
fn a_silent_client_is_closed_after_the_handshake_timeout() {
    let pki = Pki::new();
    let leaf = pki.leaf("default", &["default.test"]);
    let up = Upstream::hello();
    let gw = https_gateway(
        up.addr,
        &tls_table(&[(&leaf, &[])], "handshake_timeout = \"200ms\""),
    );
    let mut sock = std::net::TcpStream::connect(gw.addr()).unwrap();
    // Far longer than the timeout: a read that returns at all means closed.
    sock.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut buf = [0u8; 64];
    match sock.read(&mut buf) {
        Ok(0) => {}
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        other => panic!("expected the gateway to close the connection, got {other:?}"),
    }
    wait_until(
        "the timed-out handshake to be counted",
        Duration::from_secs(10),
        || gw.metric("ringgate_tls_handshake_failures_total") >= 1,
    );
}

#[test]
fn plaintext_http_to_a_tls_listener_is_refused() {
    let pki = Pki::new();
    let leaf = pki.leaf("default", &["default.test"]);
    let up = Upstream::hello();
    let gw = https_gateway(up.addr, &tls_table(&[(&leaf, &[])], ""));
    let mut sock = std::net::TcpStream::connect(gw.addr()).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    sock.write_all(b"GET / HTTP/1.1\r\nHost: test\r\n\r\n")
        .unwrap();
    // At most a TLS alert comes back, never an HTTP response; then the close.
    let mut got = Vec::new();
    let _ = sock.read_to_end(&mut got);
    assert!(!got.starts_with(b"HTTP/"), "{got:?}");
    assert_eq!(up.request_count(), 0);
    // The gateway is fine.
    let mut s = connect(gw.addr(), pki.client(&[&TLS13], &[]), "default.test").unwrap();
    assert_eq!(get(&mut s, "/").status, 200);
    assert!(gw.metric("ringgate_tls_handshake_failures_total") >= 1);
}

/// A gateway (plain listener) in front of a TLS upstream, with `tls` as the
/// cluster's tls table.
fn gateway_to_tls_upstream(up: SocketAddr, tls: &str) -> Gateway {
    Gateway::start(&config(
        &[up],
        &format!("tls = {tls}\n\n[[route]]\nname = \"all\"\ncluster = \"up\"\n"),
    ))
}

#[test]
fn upstream_tls_verified_with_the_configured_ca() {
    let pki = Pki::new();
    let leaf = pki.leaf("upstream", &["upstream.test"]);
    let up = TlsUpstream::start(&leaf);
    let gw = gateway_to_tls_upstream(
        up.addr,
        &format!(
            "{{ ca = {:?}, server_name = \"upstream.test\" }}",
            pki.ca.display().to_string()
        ),
    );
    let mut c = common::Client::connect(gw.addr());
    let r = c.get("/a");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.text(), "tls hello from /a");
    // Pooled and reused.
    assert_eq!(c.get("/b").text(), "tls hello from /b");
}

#[test]
fn upstream_tls_sni_defaults_to_the_endpoint_host() {
    let pki = Pki::new();
    let leaf = pki.leaf("upstream", &["localhost"]);
    let up = TlsUpstream::start(&leaf);
    let text = config(&[], "").replace(
        "endpoints = []",
        &format!(
            "endpoints = [\"localhost:{}\"]\ntls = {{ ca = {:?} }}\n\n[[route]]\nname = \"all\"\ncluster = \"up\"",
            up.addr.port(),
            pki.ca.display().to_string()
        ),
    );
    let gw = Gateway::start(&text);
    let r = common::Client::connect(gw.addr()).get("/h");
    // localhost may resolve to ::1 first, where the test upstream isn't
    // listening: then the connect, not TLS, fails. Either way no TLS error.
    if r.status == 200 {
        assert_eq!(r.text(), "tls hello from /h");
    } else {
        assert_ne!(r.json()["error"], "upstream_tls_failed", "{}", r.text());
    }
}

#[test]
fn upstream_tls_verification_failures_are_502() {
    let pki = Pki::new();
    let other = Pki::new();
    let good = pki.leaf("upstream", &["upstream.test"]);
    let expired = pki.expired_leaf("expired", &["upstream.test"]);
    let cases = [
        // Signed by a CA the gateway doesn't trust.
        (TlsUpstream::start(&good), other.ca.clone(), "upstream.test"),
        // Trusted, but for another name.
        (TlsUpstream::start(&good), pki.ca.clone(), "elsewhere.test"),
        // Trusted, right name, expired.
        (
            TlsUpstream::start(&expired),
            pki.ca.clone(),
            "upstream.test",
        ),
    ];
    for (up, ca, name) in &cases {
        let gw = gateway_to_tls_upstream(
            up.addr,
            &format!(
                "{{ ca = {:?}, server_name = {name:?} }}",
                ca.display().to_string()
            ),
        );
        let r = common::Client::connect(gw.addr()).get("/");
        assert_eq!(r.status, 502, "{name}: {}", r.text());
        assert_eq!(r.json()["error"], "upstream_tls_failed");
    }
    // verify = false accepts what failed above (tests only).
    let gw = gateway_to_tls_upstream(cases[2].0.addr, "{ verify = false }");
    assert_eq!(common::Client::connect(gw.addr()).get("/").status, 200);
}

#[test]
fn plain_upstream_behind_a_tls_cluster_is_502() {
    let up = Upstream::hello();
    let pki = Pki::new();
    let gw = gateway_to_tls_upstream(
        up.addr,
        &format!(
            "{{ ca = {:?}, server_name = \"upstream.test\" }}",
            pki.ca.display().to_string()
        ),
    );
    let r = common::Client::connect(gw.addr()).get("/");
    assert_eq!(r.status, 502, "{}", r.text());
}

#[test]
fn upgrade_tunnels_over_tls() {
    use common::upstream::After;
    let up = Upstream::start(|_req, s| {
        let _ = s.write_all(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nserver-first|");
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
    let pki = Pki::new();
    let leaf = pki.leaf("default", &["default.test"]);
    let gw = https_gateway(up.addr, &tls_table(&[(&leaf, &[])], ""));
    let mut s = connect(gw.addr(), pki.client(&[&TLS13], &[]), "default.test").unwrap();
    s.write_all(
        b"GET /ws HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
    )
    .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 256];
    while !got.ends_with(b"server-first|") {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "closed early: {:?}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&buf[..n]);
    }
    assert!(
        got.starts_with(b"HTTP/1.1 101 "),
        "{:?}",
        String::from_utf8_lossy(&got)
    );
    for msg in [&b"hello"[..], b"tunnel"] {
        s.write_all(msg).unwrap();
        let mut echo = vec![0u8; msg.len()];
        s.read_exact(&mut echo).unwrap();
        assert_eq!(echo, msg.to_ascii_uppercase());
    }
    // close_notify ends the client side; the tunnel then ends both.
    s.conn.send_close_notify();
    s.flush().unwrap();
    let mut rest = Vec::new();
    let _ = s.read_to_end(&mut rest);
    assert!(rest.is_empty(), "{rest:?}");
}
