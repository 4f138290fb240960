//! The build of a whole config: every feature's errors in one list, each
//! with its key path and line; what builds is what the cores get.

use std::path::Path;

use super::*;
use crate::config::testing::{self, at, expect_errors, MINIMAL};
use crate::ratelimit::KeyPart;

fn build(text: &str) -> Result<Snapshot, ConfigErrors> {
    Draft::parse(text)?.finish(|config| Snapshot::build(config, 1))
}

fn errors_of(text: &str) -> Vec<ConfigError> {
    expect_errors(text, build(text))
}

fn located(text: &str) -> Vec<(String, Option<usize>)> {
    testing::located(errors_of(text))
}

/// Building the snapshot also loads what the configs reference (the demo
/// certificates of config/examples/tls.toml), so they must be there.
#[test]
fn shipped_configs_build() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
    for entry in std::fs::read_dir(root.join("examples")).unwrap() {
        let file = entry.unwrap().path();
        if file.extension().is_some_and(|e| e == "toml") {
            if let Err(e) = load(&file, 1) {
                panic!("{}:\n{e}", file.display());
            }
        }
    }
}

#[test]
fn rate_limit_problems_each_name_their_key() {
    let text = format!(
        "{MINIMAL}rate_limits = [\"nope\"]\n\n\
         [[rate_limit]]\nname = \"a\"\nkey = [\"client_ip\", \"cookie:x\"]\nrequests = 0\nper = \"1s\"\n\
         algorithm = \"fixed_window\"\nburst = 5\nbackend = \"redis\"\n\n\
         [[rate_limit]]\nname = \"a\"\nrequests = 1\nper = \"1s\"\nmode = \"sideways\"\n\n\
         [redis]\nkey_prefix = \"{{x}}\"\ncommand_timeout = \"0ms\"\n"
    );
    let paths: Vec<String> = errors_of(&text).into_iter().map(|e| e.path).collect();
    for want in [
        "route[0].rate_limits[0]",
        "rate_limit[0].key[1]",
        "rate_limit[0].requests",
        "rate_limit[0].burst",
        "rate_limit[0].backend",
        "rate_limit[1].mode",
        "rate_limit[1].name",
        "redis.key_prefix",
        "redis.command_timeout",
    ] {
        assert!(
            paths.iter().any(|p| p == want),
            "{want} missing in {paths:?}"
        );
    }
}

/// One pass finds the problems of the config itself and of every feature:
/// the router's, the limits', TLS (a certificate file that isn't there) and
/// the filters'.
#[test]
fn every_feature_reports_in_one_pass() {
    let text = format!(
        "[server]\nuring_entries = 100\n{MINIMAL}path_prefix = \"no-slash\"\n\
         rate_limits = [\"nope\"]\nauth = \"missing\"\n\
         [[listener]]\nname = \"tls\"\naddress = \"127.0.0.1:8443\"\n\
         [listener.tls]\ncertificates = [{{ cert = \"/nonexistent/c.pem\", key = \"/nonexistent/k.pem\" }}]\n"
    );
    assert_eq!(
        located(&text),
        [
            at("server.uring_entries", 2),
            at("route[0].path_prefix", 15),
            at("route[0].rate_limits[0]", 16),
            at("route[0].auth", 17),
            at("listener[1].tls.certificates[0].cert", 22),
            at("listener[1].tls.certificates[0].key", 22),
        ]
    );
}

/// An endpoint the config check rejects is reported once: the cluster is
/// not built (its endpoints not resolved) on top of it.
#[test]
fn a_rejected_cluster_is_not_built() {
    let text = format!("{MINIMAL}[[cluster]]\nname = \"c2\"\nendpoints = [\"10.0.0.1\"]\n");
    let errors = errors_of(&text);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].path, "cluster[1].endpoints[0]");
    assert_eq!(errors[0].line, Some(15));
}

/// A route naming no cluster is reported once, by the config check.
#[test]
fn an_unknown_cluster_is_reported_once() {
    let text =
        format!("{MINIMAL}[[route]]\nname = \"b\"\ncluster = \"foo\"\npath_prefix = \"/b\"\n");
    let err = build(&text).err().expect("route names no cluster");
    assert_eq!(
        err.to_string(),
        r#"route[1].cluster (line 15): unknown cluster "foo" (defined clusters: "demo")"#
    );
}

/// The checked key parts are the ones the limits count by, and each route
/// points at its limits in the order it lists them.
#[test]
fn limits_and_targets_come_from_the_checked_config() {
    let text = format!(
        "{MINIMAL}rate_limits = [\"b\", \"a\"]\n\n\
         [[rate_limit]]\nname = \"a\"\nkey = [\"client_ip\", \"header:X-Tenant\"]\nrequests = 5\nper = \"1s\"\n\
         [[rate_limit]]\nname = \"b\"\nkey = [\"route\"]\nrequests = 5\nper = \"1s\"\n\
         [[consumer]]\nname = \"acme\"\nrate_limit = {{ requests = 10, per = \"1s\" }}\n"
    );
    let snap = build(&text).unwrap();
    let keys: Vec<&[KeyPart]> = snap.rate_limits.iter().map(|l| &l.key[..]).collect();
    assert_eq!(
        keys,
        [
            &[KeyPart::ClientIp, KeyPart::Header("x-tenant".into())][..],
            &[KeyPart::Route][..],
            &[KeyPart::Consumer][..],
        ]
    );
    assert_eq!(snap.consumer_limits["acme"], 2);
    assert_eq!(snap.routes.len(), 1);
    assert_eq!(snap.routes[0].cluster, 0);
    assert_eq!(&*snap.routes[0].rate_limits, [1, 0]);
}
