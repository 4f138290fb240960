//! Property tests: the indexed router agrees with a naive linear model of
//! the documented rule on random route sets and requests, and never panics
//! on arbitrary bytes.

use proptest::prelude::*;

use super::*;
use crate::config::HeaderMatchConfig;

/// A route from a small alphabet, so routes overlap a lot.
fn route_strategy() -> impl Strategy<Value = RouteConfig> {
    let hosts = prop::sample::select(vec![
        vec![],
        vec!["a.com"],
        vec!["*.a.com"],
        vec!["*.b.a.com"],
        vec!["x.b.a.com", "c.com"],
    ]);
    let segs = prop::collection::vec(prop::sample::select(vec!["a", "b", "B", "c", "{}"]), 0..4);
    let shape = (segs, any::<bool>(), 0..5u8, any::<bool>());
    let methods = prop::sample::select(vec![vec![], vec!["GET"], vec!["POST", "GET"]]);
    let header = prop::sample::select(vec![
        None,
        Some((None, Some(true))),
        Some((Some("1"), None)),
    ]);
    (hosts, shape, methods, header).prop_map(
        |(hosts, (segs, slash, kind, case), methods, header)| {
            let mut r = RouteConfig {
                cluster: "c".into(),
                case_sensitive: case,
                hosts: hosts.iter().map(|s| s.to_string()).collect(),
                methods: methods.iter().map(|s| s.to_string()).collect(),
                ..RouteConfig::default()
            };
            set_path(&mut r, &segs, slash, kind);
            if let Some((value, present)) = header {
                r.headers.push(HeaderMatchConfig {
                    name: "x-h".into(),
                    value: value.map(Into::into),
                    present,
                });
            }
            r
        },
    )
}

/// `segs` as a literal path (`{}` → `p`) or a template (`{}` → `{pN}`).
fn set_path(r: &mut RouteConfig, segs: &[&str], slash: bool, kind: u8) {
    let mut literal = String::new();
    let mut template = String::new();
    for (i, seg) in segs.iter().enumerate() {
        literal.push('/');
        template.push('/');
        match *seg {
            "{}" => {
                literal.push('p');
                template.push_str(&format!("{{p{i}}}"));
            }
            lit => {
                literal.push_str(lit);
                template.push_str(lit);
            }
        }
    }
    if slash || segs.is_empty() {
        literal.push('/');
        template.push('/');
    }
    match kind {
        0 => r.path_exact = Some(literal),
        1 => r.path_prefix = Some(literal),
        2 => r.path_template = Some(template),
        3 => r.path_template = Some(format!("{}/{{*rest}}", template.trim_end_matches('/'))),
        _ => {}
    }
}

/// The rule from the module docs, applied to every route in turn.
fn model(
    routes: &[RouteConfig],
    host: Option<&str>,
    path: &str,
    method: &str,
    xh: Option<&str>,
) -> Option<usize> {
    let host = host.map(|h| {
        h.split(':')
            .next()
            .unwrap_or(h)
            .trim_end_matches('.')
            .to_ascii_lowercase()
    });
    let mut best: Option<((usize, Vec<u64>), usize)> = None;
    for (i, r) in routes.iter().enumerate() {
        let Some(level) = host_level(r, host.as_deref()) else {
            continue;
        };
        if !path_matches(r, path) || !preds_hold(r, method, xh) {
            continue;
        }
        let key = (level, rank(i, r));
        if best.as_ref().is_none_or(|(b, _)| key > *b) {
            best = Some((key, i));
        }
    }
    best.map(|(_, i)| i)
}

/// Larger is tried first: exact host, longer wildcard, any host.
fn host_level(r: &RouteConfig, host: Option<&str>) -> Option<usize> {
    if r.hosts.is_empty() {
        return Some(0);
    }
    let host = host?;
    r.hosts
        .iter()
        .filter_map(|h| match h.strip_prefix("*.") {
            Some(suffix) if host.ends_with(&format!(".{suffix}")) => Some(1 + suffix.len()),
            None if h == host => Some(1000),
            _ => None,
        })
        .max()
}

/// One trailing `/` removed, except from `/` itself.
fn trim_slash(p: &str) -> &str {
    match p.strip_suffix('/') {
        Some(base) if !base.is_empty() => base,
        _ => p,
    }
}

/// Literals compare ASCII case-insensitively unless the route says
/// `case_sensitive`; both sides lose one trailing `/`.
fn path_matches(r: &RouteConfig, path: &str) -> bool {
    let fold = |s: &str| {
        if r.case_sensitive {
            s.to_string()
        } else {
            s.to_ascii_lowercase()
        }
    };
    let path = &fold(trim_slash(path));
    if let Some(p) = &r.path_exact {
        return path == &fold(trim_slash(p));
    }
    if let Some(p) = &r.path_prefix {
        let p = fold(p.strip_suffix('/').unwrap_or(p));
        return path.starts_with(p.as_str())
            && (path.len() == p.len() || path[p.len()..].starts_with('/'));
    }
    let Some(t) = &r.path_template else {
        return true;
    };
    let t = &fold(trim_slash(t));
    let Some(path) = path.strip_prefix('/') else {
        return false;
    };
    let tsegs: Vec<&str> = t[1..].split('/').collect();
    let psegs: Vec<&str> = path.split('/').collect();
    let catch_all = tsegs.last().is_some_and(|s| s.starts_with("{*"));
    let fixed = if catch_all {
        &tsegs[..tsegs.len() - 1]
    } else {
        &tsegs[..]
    };
    let len_ok = if catch_all {
        psegs.len() >= fixed.len()
    } else {
        psegs.len() == fixed.len()
    };
    len_ok
        && fixed.iter().zip(&psegs).all(|(t, p)| {
            if t.starts_with('{') {
                !p.is_empty()
            } else {
                t == p
            }
        })
}

fn preds_hold(r: &RouteConfig, method: &str, xh: Option<&str>) -> bool {
    let method_ok = r.methods.is_empty() || r.methods.iter().any(|m| m == method);
    method_ok
        && r.headers.iter().all(|h| match (&h.value, h.present) {
            (Some(v), _) => xh == Some(v.as_str()),
            (None, Some(p)) => xh.is_some() == p,
            _ => false,
        })
}

/// (class, primary, secondary, predicates, -index), larger wins.
fn rank(i: usize, r: &RouteConfig) -> Vec<u64> {
    let preds = u64::from(!r.methods.is_empty()) + r.headers.len() as u64;
    let (class, a, b) = if r.path_exact.is_some() {
        (3, 0, 0)
    } else if let Some(p) = &r.path_prefix {
        (1, p.strip_suffix('/').unwrap_or(p).len() as u64, 0)
    } else if let Some(t) = &r.path_template {
        let segs: Vec<&str> = trim_slash(t)[1..].split('/').collect();
        let lit = segs.iter().filter(|s| !s.starts_with('{')).count() as u64;
        let fixed = segs.iter().filter(|s| !s.starts_with("{*")).count() as u64;
        let catch = segs.last().is_some_and(|s| s.starts_with("{*"));
        (2, lit, 2 * fixed + u64::from(!catch))
    } else {
        (0, 0, 0)
    };
    vec![class, a, b, preds, u64::MAX - i as u64]
}

fn request_strategy() -> impl Strategy<
    Value = (
        Option<&'static str>,
        String,
        &'static str,
        Option<&'static str>,
    ),
> {
    let host = prop::sample::select(vec![
        None,
        Some("a.com"),
        Some("A.com:80"),
        Some("q.a.com"),
        Some("x.b.a.com."),
        Some("y.b.a.com"),
        Some("c.com"),
    ]);
    let segs = prop::collection::vec(
        prop::sample::select(vec!["a", "A", "b", "B", "c", "", "zz"]),
        0..5,
    );
    let method = prop::sample::select(vec!["GET", "POST"]);
    let xh = prop::sample::select(vec![None, Some("1"), Some("2")]);
    (host, segs, method, xh).prop_map(|(h, segs, m, x)| (h, format!("/{}", segs.join("/")), m, x))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn router_agrees_with_linear_model(
        routes in prop::collection::vec(route_strategy(), 1..12),
        requests in prop::collection::vec(request_strategy(), 1..30),
    ) {
        // Random sets often contain shadowed duplicates; those are rejected.
        let Ok(router) = Router::build(&routes) else { return Ok(()) };
        for (host, path, method, xh) in &requests {
            let header = |name: &str| -> Option<&[u8]> { (name == "x-h").then_some(*xh).flatten().map(str::as_bytes) };
            let got = router.lookup(host.map(str::as_bytes), path.as_bytes(), method.as_bytes(), &header);
            let want = model(&routes, *host, path, method, *xh);
            prop_assert_eq!(got.as_ref().map(|m| m.route), want, "{:?} {} {} {:?}", host, path, method, xh);
            if let Some(m) = got {
                let mut out = Vec::new();
                router.write_upstream_path(&m, path.as_bytes(), &mut out);
                prop_assert_eq!(out.first(), Some(&b'/'));
            }
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(
        host in prop::option::of(prop::collection::vec(any::<u8>(), 0..40)),
        path in prop::collection::vec(any::<u8>(), 0..60),
        method in prop::collection::vec(any::<u8>(), 0..8),
    ) {
        let router = Router::build(&[
            RouteConfig { cluster: "c".into(), hosts: vec!["*.a.com".into()], path_template: Some("/{x}/{*y}".into()), rewrite: Some("/{y}/{x}".into()), ..RouteConfig::default() },
            RouteConfig { cluster: "c".into(), path_prefix: Some("/".into()), strip_prefix: true, ..RouteConfig::default() },
        ]).unwrap();
        let _ = check_path(&path, PathPolicy::default());
        let _ = check_path(&path, PathPolicy { allow_path_params: true, allow_ambiguous_escapes: true });
        let none = |_: &str| -> Option<&[u8]> { None };
        if let Some(m) = router.lookup(host.as_deref(), &path, &method, &none) {
            let mut out = Vec::new();
            router.write_upstream_path(&m, &path, &mut out);
            prop_assert_eq!(out.first(), Some(&b'/'));
            let _ = m.param(&router, &path, "x");
        }
    }
}
