use super::*;
use clap::Parser;

#[derive(Parser)]
struct Wrap {
    #[command(flatten)]
    args: LoadArgs,
}

fn args(argv: &[&str]) -> LoadArgs {
    Wrap::try_parse_from(std::iter::once("load").chain(argv.iter().copied()))
        .unwrap()
        .args
}

fn text(t: &Template) -> &str {
    std::str::from_utf8(t.bytes).unwrap()
}

#[test]
fn urls() {
    let u = Url::parse("http://127.0.0.1:8080/a/b?c=1").unwrap();
    assert_eq!(
        (u.host.as_str(), u.port, u.path.as_str()),
        ("127.0.0.1", 8080, "/a/b?c=1")
    );
    assert_eq!(u.authority, "127.0.0.1:8080");
    let u = Url::parse("http://localhost").unwrap();
    assert_eq!((u.port, u.path.as_str()), (80, "/"));
    assert_eq!(Url::parse("http://h?x=1").unwrap().path, "/?x=1");
    let u = Url::parse("http://[::1]:9000/").unwrap();
    assert_eq!((u.host.as_str(), u.port), ("::1", 9000));
    let u = Url::parse("https://localhost/x").unwrap();
    assert_eq!((u.port, u.tls.as_deref()), (443, Some("localhost")));
    assert_eq!(Url::parse("http://h/").unwrap().tls, None);
    assert!(Url::parse("ftp://h/").is_err());
    assert!(Url::parse("http://:80/").is_err());
    assert!(Url::parse("http://h:x/").is_err());
}

#[test]
fn weights_from_suffix_and_flags() {
    assert_eq!(
        split_weight("http://h/a@3").unwrap(),
        ("http://h/a".into(), Some(3))
    );
    assert_eq!(
        split_weight("http://u@h/a").unwrap(),
        ("http://u@h/a".into(), None)
    );
    let p = build(&args(&["http://127.0.0.1:1/a@3", "http://127.0.0.1:1/b@1"])).unwrap();
    assert_eq!(p.cumulative, vec![3, 4]);
    let mut rng = Rng::new(3);
    let hits_a = (0..4000).filter(|_| p.pick(&mut rng) == 0).count();
    assert!((2800..3200).contains(&hits_a), "{hits_a}");
    let p = build(&args(&[
        "http://127.0.0.1:1/a",
        "http://127.0.0.1:1/b",
        "--weight",
        "1",
        "--weight",
        "0",
    ]))
    .unwrap();
    assert_eq!(p.cumulative, vec![1, 1]);
    assert!(build(&args(&[
        "http://127.0.0.1:1/a",
        "--weight",
        "1",
        "--weight",
        "2"
    ]))
    .is_err());
    assert!(
        build(&args(&["http://127.0.0.1:1/a", "http://127.0.0.1:2/b"])).is_err(),
        "two targets"
    );
}

#[test]
fn request_bytes() {
    let p = build(&args(&[
        "http://127.0.0.1:8080/x",
        "-m",
        "POST",
        "-H",
        "X-A: 1",
        "--body",
        "hi",
        "--new-conn",
    ]))
    .unwrap();
    assert_eq!(
        text(&p.templates[0]),
        "POST /x HTTP/1.1\r\nX-A: 1\r\nHost: 127.0.0.1:8080\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi"
    );
    let p = build(&args(&[
        "http://127.0.0.1:8080/",
        "-H",
        "Host: example.com",
        "-m",
        "HEAD",
    ]))
    .unwrap();
    assert_eq!(
        text(&p.templates[0]),
        "HEAD / HTTP/1.1\r\nHost: example.com\r\n\r\n"
    );
    assert!(p.templates[0].head_method);
    assert!(build(&args(&["http://127.0.0.1:1/", "-H", "bad header"])).is_err());
    assert!(build(&args(&["http://127.0.0.1:1/", "-m", "GE T"])).is_err());
}

#[test]
fn defaults_and_validation() {
    let p = build(&args(&["http://127.0.0.1:1/"])).unwrap();
    assert_eq!((p.connections, p.pipeline, p.keepalive), (64, 1, true));
    assert_eq!((p.duration, p.count), (Some(Duration::from_secs(10)), None));
    let p = build(&args(&[
        "http://127.0.0.1:1/",
        "-n",
        "100",
        "-c",
        "1",
        "-t",
        "4",
    ]))
    .unwrap();
    assert_eq!((p.duration, p.count, p.threads), (None, Some(100), 1));
    for bad in [
        &["http://127.0.0.1:1/", "--pipeline", "4", "--rate", "10"][..],
        &["http://127.0.0.1:1/", "--pipeline", "0"],
        &["http://127.0.0.1:1/", "--rate", "0"],
        &["http://127.0.0.1:1/", "-c", "0"],
        &["http://127.0.0.1:1/", "--timeout", "0"],
        &[],
    ] {
        assert!(build(&args(bad)).is_err(), "{bad:?}");
    }
}

#[test]
fn scenario_file() {
    let dir = std::env::temp_dir().join(format!("ringbench-scenario-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("s.toml");
    std::fs::write(
        &path,
        r#"
connections = 4
duration = "3s"
rate = 100.0
headers = ["X-All: 1"]

[[request]]
url = "http://127.0.0.1:8080/a"
weight = 3

[[request]]
url = "http://127.0.0.1:8080/b"
method = "POST"
body = "{}"
"#,
    )
    .unwrap();
    let s = path.to_str().unwrap();
    let p = build(&args(&["--scenario", s])).unwrap();
    assert_eq!(
        (p.connections, p.duration, p.rate),
        (4, Some(Duration::from_secs(3)), Some(100.0))
    );
    assert_eq!(p.cumulative, vec![3, 4]);
    assert!(text(&p.templates[1]).starts_with("POST /b HTTP/1.1\r\nX-All: 1\r\n"));
    assert!(text(&p.templates[1]).ends_with("Content-Length: 2\r\n\r\n{}"));
    // The command line wins over the file.
    let p = build(&args(&["--scenario", s, "-c", "8", "-d", "1s"])).unwrap();
    assert_eq!(
        (p.connections, p.duration),
        (8, Some(Duration::from_secs(1)))
    );
    std::fs::write(&path, "conections = 4\n").unwrap();
    let err = build(&args(&["--scenario", s])).unwrap_err();
    assert!(err.contains("conections"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn https_needs_cacert_and_one_scheme() {
    let e = build(&args(&["https://127.0.0.1:1/"])).unwrap_err();
    assert!(e.contains("--cacert"), "{e}");
    let e = build(&args(&["http://127.0.0.1:1/", "--cacert", "/nonexistent"])).unwrap_err();
    assert!(e.contains("only for https"), "{e}");
    let e = build(&args(&["https://127.0.0.1:1/a", "http://127.0.0.1:1/b"])).unwrap_err();
    assert!(e.contains("scheme"), "{e}");
    let e = build(&args(&["https://127.0.0.1:1/", "--cacert", "/nonexistent"])).unwrap_err();
    assert!(e.contains("/nonexistent"), "{e}");
}
