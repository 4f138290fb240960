//! Table-driven router tests: build from config, look up, rewrite.

use super::*;
use crate::config::HeaderMatchConfig;

/// A `RouteConfig` builder, so tables stay one line per route.
#[derive(Clone, Default)]
struct R(RouteConfig);

fn r() -> R {
    R(RouteConfig {
        cluster: "c".into(),
        ..RouteConfig::default()
    })
}

impl R {
    fn hosts(mut self, h: &[&str]) -> R {
        self.0.hosts = h.iter().map(|s| s.to_string()).collect();
        self
    }
    fn exact(mut self, p: &str) -> R {
        self.0.path_exact = Some(p.into());
        self
    }
    fn prefix(mut self, p: &str) -> R {
        self.0.path_prefix = Some(p.into());
        self
    }
    fn template(mut self, p: &str) -> R {
        self.0.path_template = Some(p.into());
        self
    }
    fn methods(mut self, m: &[&str]) -> R {
        self.0.methods = m.iter().map(|s| s.to_string()).collect();
        self
    }
    fn header(mut self, name: &str, value: Option<&str>, present: Option<bool>) -> R {
        self.0.headers.push(HeaderMatchConfig {
            name: name.into(),
            value: value.map(Into::into),
            present,
        });
        self
    }
    fn strip(mut self) -> R {
        self.0.strip_prefix = true;
        self
    }
    fn case_sensitive(mut self) -> R {
        self.0.case_sensitive = true;
        self
    }

    fn rewrite(mut self, to: &str) -> R {
        self.0.rewrite = Some(to.into());
        self
    }
}

fn build(routes: &[R]) -> Router {
    let cfg: Vec<RouteConfig> = routes.iter().map(|r| r.0.clone()).collect();
    match Router::build(&cfg) {
        Ok(router) => router,
        Err(errs) => panic!("build failed: {errs:#?}"),
    }
}

fn build_errors(routes: &[R]) -> Vec<RouteError> {
    let cfg: Vec<RouteConfig> = routes.iter().map(|r| r.0.clone()).collect();
    match Router::build(&cfg) {
        Ok(_) => panic!("build should fail"),
        Err(errs) => errs,
    }
}

/// One request: host, path, method, headers (lowercase names).
struct Req<'a> {
    host: Option<&'a str>,
    path: &'a str,
    method: &'a str,
    headers: &'a [(&'a str, &'a str)],
}

fn get<'a>(host: Option<&'a str>, path: &'a str) -> Req<'a> {
    Req {
        host,
        path,
        method: "GET",
        headers: &[],
    }
}

fn lookup(router: &Router, req: &Req) -> Option<RouteMatch> {
    let headers = req.headers;
    let header = |name: &str| -> Option<&[u8]> {
        headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_bytes())
    };
    router.lookup(
        req.host.map(str::as_bytes),
        req.path.as_bytes(),
        req.method.as_bytes(),
        &header,
    )
}

/// Assert each `(request, expected route index)`.
fn check(router: &Router, table: &[(Req, Option<usize>)]) {
    for (req, want) in table {
        let got = lookup(router, req).map(|m| m.route);
        assert_eq!(
            got, *want,
            "{} {:?} {} {:?}",
            req.method, req.host, req.path, req.headers
        );
    }
}

#[test]
fn router_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Router>();
    assert_send_sync::<RouteMatch>();
}

#[test]
fn host_levels_fall_back() {
    let router = build(&[
        r().hosts(&["api.example.com"]).prefix("/v1"), // 0
        r().hosts(&["*.example.com"]).prefix("/v2"),   // 1
        r().prefix("/"),                               // 2
        r().hosts(&["*.example.com"]).exact("/v1/x"),  // 3
    ]);
    let h = Some("api.example.com");
    check(
        &router,
        &[
            (get(h, "/v1/users"), Some(0)),
            // exact host level has no /v2 route: wildcard level
            (get(h, "/v2/users"), Some(1)),
            // the exact host level wins even over a more specific path
            (get(h, "/v1/x"), Some(0)),
            // neither host level matches: the host-less catch-all
            (get(h, "/other"), Some(2)),
            (get(Some("www.example.com"), "/v1/x"), Some(3)),
            (get(Some("www.example.com"), "/v1/y"), Some(2)),
            (get(Some("example.com"), "/v2/a"), Some(2)),
            (get(Some("other.org"), "/v1"), Some(2)),
            (get(None, "/v1"), Some(2)),
        ],
    );
}

#[test]
fn no_match_without_catch_all() {
    let router = build(&[r().hosts(&["a.com"]).prefix("/x")]);
    check(
        &router,
        &[
            (get(Some("a.com"), "/x"), Some(0)),
            (get(Some("a.com"), "/y"), None),
            (get(Some("b.com"), "/x"), None),
            (get(None, "/x"), None),
        ],
    );
}

#[test]
fn wildcards_by_depth() {
    let router = build(&[
        r().hosts(&["*.example.com"]),        // 0
        r().hosts(&["*.eu.example.com"]),     // 1
        r().hosts(&["*.com"]).exact("/only"), // 2
        r().hosts(&["example.com"]),          // 3
    ]);
    check(
        &router,
        &[
            (get(Some("a.example.com"), "/"), Some(0)),
            (get(Some("a.b.example.com"), "/"), Some(0)),
            (get(Some("x.eu.example.com"), "/"), Some(1)),
            (get(Some("x.y.eu.example.com"), "/"), Some(1)),
            (get(Some("eu.example.com"), "/"), Some(0)),
            (get(Some("example.com"), "/"), Some(3)),
            // the longest matching wildcard wins, whatever the path kind
            (get(Some("x.eu.example.com"), "/only"), Some(1)),
            (get(Some("other.com"), "/only"), Some(2)),
            (get(Some("other.com"), "/"), None),
            (get(Some("com"), "/only"), None),
            (get(Some("badexample.com"), "/x"), None),
        ],
    );
}

#[test]
fn wildcard_levels_fall_back_to_shorter_suffix() {
    let router = build(&[
        r().hosts(&["*.eu.example.com"]).prefix("/a"), // 0
        r().hosts(&["*.example.com"]).prefix("/b"),    // 1
    ]);
    check(
        &router,
        &[
            (get(Some("x.eu.example.com"), "/a"), Some(0)),
            (get(Some("x.eu.example.com"), "/b"), Some(1)),
            (get(Some("x.example.com"), "/a"), None),
        ],
    );
}

#[test]
fn host_forms_normalize() {
    let router = build(&[
        r().hosts(&["API.example.com"]),   // 0
        r().hosts(&["[::1]", "10.0.0.1"]), // 1
        r().hosts(&["example.org."]),      // 2
    ]);
    let table = [
        ("api.example.com", Some(0)),
        ("Api.Example.COM", Some(0)),
        ("api.example.com:8443", Some(0)),
        ("api.example.com.", Some(0)),
        ("API.EXAMPLE.COM.:80", Some(0)),
        ("[::1]", Some(1)),
        ("[::1]:8080", Some(1)),
        ("[0:0::1]:8080", Some(1)),
        ("10.0.0.1:80", Some(1)),
        ("example.org", Some(2)),
        ("example.org.", Some(2)),
        ("api.example.com:x", None),
        ("api.example.com..", None),
        ("::1", None),
        ("", None),
    ];
    for (host, want) in table {
        assert_eq!(
            lookup(&router, &get(Some(host), "/")).map(|m| m.route),
            want,
            "{host:?}"
        );
    }
}

#[test]
fn malformed_host_reaches_only_host_less_routes() {
    let router = build(&[r().hosts(&["a.com"]), r().exact("/x")]);
    check(
        &router,
        &[
            (get(Some("a.com"), "/x"), Some(0)),
            (get(Some("a..com"), "/x"), Some(1)),
            (get(Some("a.com:8x"), "/x"), Some(1)),
            (get(Some(""), "/x"), Some(1)),
            (get(None, "/x"), Some(1)),
            (get(None, "/y"), None),
        ],
    );
}

#[test]
fn prefixes_are_segment_aware() {
    let router = build(&[
        r().prefix("/api"),     // 0
        r().prefix("/static/"), // 1
        r().prefix("/a/b/c"),   // 2
    ]);
    check(
        &router,
        &[
            (get(None, "/api"), Some(0)),
            (get(None, "/api/"), Some(0)),
            (get(None, "/api/x/y"), Some(0)),
            (get(None, "/apix"), None),
            (get(None, "/ap"), None),
            (get(None, "/static/"), Some(1)),
            (get(None, "/static/x.css"), Some(1)),
            // A trailing `/` on a prefix changes nothing.
            (get(None, "/static"), Some(1)),
            (get(None, "/staticx"), None),
            (get(None, "/a/b/c/d"), Some(2)),
            (get(None, "/a/b"), None),
            (get(None, "/a/b/cd"), None),
            (get(None, "/"), None),
        ],
    );
    let root = build(&[r().prefix("/")]);
    check(
        &root,
        &[
            (get(None, "/"), Some(0)),
            (get(None, "/anything/at/all"), Some(0)),
            (get(None, "*"), None),
            (get(None, ""), None),
        ],
    );
}

#[test]
fn longest_prefix_wins() {
    let router = build(&[
        r().prefix("/"),        // 0
        r().prefix("/api"),     // 1
        r().prefix("/api/v1/"), // 2
    ]);
    check(
        &router,
        &[
            (get(None, "/"), Some(0)),
            (get(None, "/apiv"), Some(0)),
            (get(None, "/api"), Some(1)),
            (get(None, "/api/"), Some(1)),
            (get(None, "/api/v2"), Some(1)),
            (get(None, "/api/v1"), Some(2)),
            (get(None, "/api/v1/"), Some(2)),
            (get(None, "/api/v1/x"), Some(2)),
            (get(None, "/api/v10"), Some(1)),
        ],
    );
}

#[test]
fn templates_capture_segments() {
    let router = build(&[
        r().template("/users/{id}/posts/{post}"), // 0
        r().template("/users/{id}"),              // 1
        r().template("/users/me"),                // 2
        r().template("/files/{*rest}"),           // 3
        r().template("/t/"),                      // 4
    ]);
    check(
        &router,
        &[
            (get(None, "/users/42/posts/7"), Some(0)),
            (get(None, "/users/42"), Some(1)),
            (get(None, "/users/me"), Some(2)),
            (get(None, "/users/"), None),
            (get(None, "/users//posts/7"), None),
            (get(None, "/users/42/"), Some(1)),
            (get(None, "/users/42/posts"), None),
            (get(None, "/users/42/posts/7/x"), None),
            (get(None, "/files"), Some(3)),
            (get(None, "/files/"), Some(3)),
            (get(None, "/files/a/b.txt"), Some(3)),
            (get(None, "/filesx"), None),
            (get(None, "/t/"), Some(4)),
            (get(None, "/t"), Some(4)),
        ],
    );
    let param = |path: &str, name: &str| -> Option<String> {
        let m = lookup(&router, &get(None, path))?;
        let v = m.param(&router, path.as_bytes(), name)?;
        Some(String::from_utf8(v.to_vec()).unwrap())
    };
    assert_eq!(param("/users/42/posts/7", "id").as_deref(), Some("42"));
    assert_eq!(param("/users/42/posts/7", "post").as_deref(), Some("7"));
    assert_eq!(param("/users/42/posts/7", "nope"), None);
    assert_eq!(param("/users/abc", "id").as_deref(), Some("abc"));
    assert_eq!(param("/files/a/b.txt", "rest").as_deref(), Some("a/b.txt"));
    assert_eq!(param("/files/", "rest").as_deref(), Some(""));
    assert_eq!(param("/files/a/", "rest").as_deref(), Some("a/"));
    assert_eq!(param("/users/42/", "id").as_deref(), Some("42"));
    assert_eq!(param("/files", "rest").as_deref(), Some(""));
}

#[test]
fn captures_stay_inline() {
    let router = build(&[r().template("/{a}/{b}/{c}/{d}")]);
    let m = lookup(&router, &get(None, "/1/2/3/4")).unwrap();
    assert!(!m.captures.spilled());
    assert_eq!(m.param(&router, b"/1/2/3/4", "d"), Some(&b"4"[..]));
}

#[test]
fn overlapping_templates_pick_most_literal() {
    let router = build(&[
        r().template("/{x}/b/{y}"),    // 0: 1 literal
        r().template("/a/{x}/{y}"),    // 1: 1 literal
        r().template("/a/b/{y}"),      // 2: 2 literals
        r().template("/{x}/{y}/c"),    // 3: 1 literal
        r().template("/{x}/{y}"),      // 4
        r().template("/{x}/{y}/{*z}"), // 5
    ]);
    check(
        &router,
        &[
            (get(None, "/a/b/c"), Some(2)),
            // 1 literal each, 3 segments each: config order
            (get(None, "/z/b/c"), Some(0)),
            (get(None, "/a/z/c"), Some(1)),
            (get(None, "/z/z/c"), Some(3)),
            (get(None, "/z/z"), Some(4)),
            (get(None, "/z/z/z"), Some(5)),
            (get(None, "/z/z/z/z"), Some(5)),
        ],
    );
}

#[test]
fn path_kind_specificity() {
    let router = build(&[
        r(),                        // 0: no path
        r().prefix("/a"),           // 1
        r().template("/a/{id}"),    // 2
        r().exact("/a/b"),          // 3
        r().template("/a/{*rest}"), // 4
    ]);
    check(
        &router,
        &[
            (get(None, "/a/b"), Some(3)),
            (get(None, "/a/c"), Some(2)),
            (get(None, "/a/c/d"), Some(4)),
            (get(None, "/a"), Some(4)),
            (get(None, "/b"), Some(0)),
            (get(None, "*"), Some(0)),
        ],
    );
}

#[test]
fn methods_are_case_sensitive_sets() {
    let router = build(&[
        r().prefix("/x").methods(&["GET", "HEAD"]), // 0
        r().prefix("/x").methods(&["POST"]),        // 1
        r().prefix("/x"),                           // 2
        r().exact("/y").methods(&["PURGE"]),        // 3
    ]);
    let req = |method, path| Req {
        host: None,
        path,
        method,
        headers: &[],
    };
    check(
        &router,
        &[
            (req("GET", "/x"), Some(0)),
            (req("HEAD", "/x"), Some(0)),
            (req("POST", "/x"), Some(1)),
            (req("DELETE", "/x"), Some(2)),
            (req("get", "/x"), Some(2)),
            (req("PURGE", "/y"), Some(3)),
            (req("GET", "/y"), None),
        ],
    );
}

#[test]
fn header_predicates() {
    let router = build(&[
        r().prefix("/").header("X-Canary", Some("1"), None), // 0
        r().prefix("/")
            .header("x-debug", None, Some(true)) // 1
            .header("x-block", None, Some(false)),
        r().prefix("/").header("authorization", None, Some(false)), // 2
        r().prefix("/"),                                            // 3
    ]);
    let req = |headers| Req {
        host: None,
        path: "/p",
        method: "GET",
        headers,
    };
    check(
        &router,
        &[
            (req(&[("x-canary", "1")]), Some(0)),
            (req(&[("x-canary", "1 ")]), Some(2)),
            (req(&[("x-canary", "2"), ("authorization", "t")]), Some(3)),
            (req(&[("x-canary", "1"), ("x-debug", "")]), Some(1)),
            (req(&[("x-debug", "y"), ("x-block", "1")]), Some(2)),
            (
                req(&[("x-debug", "y"), ("x-block", "1"), ("authorization", "t")]),
                Some(3),
            ),
            (req(&[]), Some(2)),
            (req(&[("authorization", "t")]), Some(3)),
        ],
    );
}

#[test]
fn more_predicates_then_config_order() {
    let router = build(&[
        r().prefix("/p"),                                 // 0
        r().prefix("/p").methods(&["GET"]),               // 1
        r().prefix("/p").header("x-a", None, Some(true)), // 2
        r().prefix("/p")
            .methods(&["GET"])
            .header("x-b", Some("1"), None), // 3
    ]);
    let req = |method, headers| Req {
        host: None,
        path: "/p",
        method,
        headers,
    };
    check(
        &router,
        &[
            (req("GET", &[]), Some(1)),
            (req("POST", &[]), Some(0)),
            // 1 and 2 both have one predicate: config order
            (req("GET", &[("x-a", "")]), Some(1)),
            (req("POST", &[("x-a", "")]), Some(2)),
            (req("GET", &[("x-a", ""), ("x-b", "1")]), Some(3)),
        ],
    );
}

#[test]
fn exact_host_beats_wildcard_for_all_hosts_of_a_route() {
    let router = build(&[
        r().hosts(&["*.a.com", "b.com"]).prefix("/"), // 0
        r().hosts(&["x.a.com"]).exact("/e"),          // 1
    ]);
    check(
        &router,
        &[
            (get(Some("x.a.com"), "/e"), Some(1)),
            (get(Some("x.a.com"), "/f"), Some(0)),
            (get(Some("b.com"), "/e"), Some(0)),
            (get(Some("y.a.com"), "/e"), Some(0)),
        ],
    );
}

fn upstream(router: &Router, path: &str) -> String {
    let m = lookup(router, &get(None, path)).expect("route");
    let mut out = b"prior:".to_vec();
    router.write_upstream_path(&m, path.as_bytes(), &mut out);
    String::from_utf8(out).unwrap()
}

#[test]
fn upstream_paths() {
    let router = build(&[
        r().prefix("/api").rewrite("/v2"),       // 0
        r().prefix("/strip").strip(),            // 1
        r().prefix("/slash").rewrite("/v2/"),    // 2
        r().exact("/old").rewrite("/new/place"), // 3
        r().template("/users/{id}/p/{post}")
            .rewrite("/internal/{post}-{id}"), // 4
        r().template("/files/{*rest}").rewrite("/blobs/{rest}"), // 5
        r().prefix("/root").rewrite("/"),        // 6
        r().prefix("/keep"),                     // 7
        r().prefix("/tslash/").strip(),          // 8
        r().prefix("/tr/").rewrite("/x"),        // 9
    ]);
    let table = [
        ("/api/users", "/v2/users"),
        ("/api", "/v2"),
        ("/api/", "/v2/"),
        ("/strip/users", "/users"),
        ("/strip", "/"),
        ("/strip/", "/"),
        ("/slash/users", "/v2/users"),
        ("/slash", "/v2/"),
        ("/old", "/new/place"),
        ("/users/7/p/9", "/internal/9-7"),
        ("/files/a/b", "/blobs/a/b"),
        ("/files", "/blobs/"),
        ("/root/x", "/x"),
        ("/root", "/"),
        ("/keep/a%20b", "/keep/a%20b"),
        ("/tslash/x", "/x"),
        ("/tslash/", "/"),
        ("/tr/a", "/x/a"),
        // Case-insensitive matches keep the request's case.
        ("/STRIP/Users", "/Users"),
        ("/API/X", "/v2/X"),
        ("/Keep/A", "/Keep/A"),
        ("/Files/A/", "/blobs/A/"),
        ("/users/7/p/9/", "/internal/9-7"),
    ];
    for (path, want) in table {
        assert_eq!(upstream(&router, path), format!("prior:{want}"), "{path}");
    }
}

/// The gateway's path policy: one trailing `/` and ASCII case never
/// change which route a request reaches, so a protected route cannot be
/// bypassed through a catch-all with `/Admin` or `/secret/`.
#[test]
fn case_and_trailing_slash_do_not_bypass_routes() {
    let router = build(&[
        r().prefix("/"),                       // 0: catch-all
        r().prefix("/admin"),                  // 1
        r().exact("/secret"),                  // 2
        r().template("/u/{id}/keys"),          // 3
        r().exact("/"),                        // 4
        r().prefix("/CaseD").case_sensitive(), // 5
    ]);
    check(
        &router,
        &[
            (get(None, "/admin"), Some(1)),
            (get(None, "/ADMIN"), Some(1)),
            (get(None, "/Admin/x"), Some(1)),
            (get(None, "/admin/"), Some(1)),
            (get(None, "/adminx"), Some(0)),
            (get(None, "/secret"), Some(2)),
            (get(None, "/secret/"), Some(2)),
            (get(None, "/SECRET/"), Some(2)),
            (get(None, "/secret/x"), Some(0)),
            (get(None, "/U/7/KEYS/"), Some(3)),
            (get(None, "/"), Some(4)),
            (get(None, "/CaseD/x"), Some(5)),
            (get(None, "/cased/x"), Some(0)),
            (get(None, "/CASED"), Some(0)),
        ],
    );
    // Captures keep the request's case.
    let m = lookup(&router, &get(None, "/U/AbC/keys")).unwrap();
    assert_eq!(m.param(&router, b"/U/AbC/keys", "id"), Some(&b"AbC"[..]));
}

#[test]
fn case_sensitive_templates_and_exact_paths() {
    let router = build(&[
        r().template("/A/{id}/B").case_sensitive(), // 0
        r().exact("/X/y").case_sensitive(),         // 1
        r().template("/a/{id}/b"),                  // 2
    ]);
    check(
        &router,
        &[
            (get(None, "/A/1/B"), Some(0)),
            (get(None, "/a/1/B"), Some(2)),
            (get(None, "/A/1/b/"), Some(2)),
            (get(None, "/X/y"), Some(1)),
            (get(None, "/X/y/"), Some(1)),
            (get(None, "/x/y"), None),
        ],
    );
}

#[test]
fn trailing_slash_and_case_variants_are_shadowed() {
    let errs = build_errors(&[
        r().prefix("/x"),                      // 0
        r().prefix("/X/"),                     // 1: same as 0
        r().exact("/secret"),                  // 2
        r().exact("/Secret/"),                 // 3: same as 2
        r().template("/u/{id}/"),              // 4
        r().template("/U/{name}"),             // 5: same as 4
        r().exact("/Secret").case_sensitive(), // 6: differs (case)
    ]);
    assert_eq!(
        keys_of(&errs),
        vec![(1, "path_prefix"), (3, "path_exact"), (5, "path_template")]
    );
}

#[test]
fn upstream_path_of_unknown_route_is_the_path() {
    let router = build(&[r().prefix("/a").strip()]);
    let bogus = RouteMatch {
        route: 99,
        captures: Captures::new(),
    };
    let mut out = Vec::new();
    router.write_upstream_path(&bogus, b"/a/b", &mut out);
    assert_eq!(out, b"/a/b");
    // a path that is not the matched one: still well-formed, no panic
    let m = lookup(&router, &get(None, "/a/b")).unwrap();
    let mut out = Vec::new();
    router.write_upstream_path(&m, b"x", &mut out);
    assert_eq!(out, b"/x");
}

fn keys_of(errs: &[RouteError]) -> Vec<(usize, &'static str)> {
    errs.iter().map(|e| (e.route_index, e.key)).collect()
}

#[test]
fn build_reports_every_problem() {
    let errs = build_errors(&[
        r().prefix("/ok"),                                     // 0: fine
        r().template("/users/{id"),                            // 1
        r().hosts(&["*bad.com", "a.com", "A.com."]),           // 2: two
        r().exact("/x").prefix("/y"),                          // 3
        r().prefix("/p").strip().rewrite("/q"),                // 4
        r().exact("/e").strip(),                               // 5
        r().methods(&["GET", "", "BAD METHOD", "get", "GET"]), // 6: four
        r().header("x y", Some("1"), None) // 7: three
            .header("x-a", None, None)
            .header("x-b", Some("1"), Some(true)),
        r().template("/u/{id}").rewrite("/v/{name}"), // 8
        r().prefix("api"),                            // 9
        r().rewrite("/x"),                            // 10
        r().exact("/a/../b"),                         // 11
    ]);
    let want = vec![
        (1, "path_template"),
        (2, "hosts"),
        (2, "hosts"),
        (3, "path_prefix"),
        (4, "rewrite"),
        (5, "strip_prefix"),
        (6, "methods"),
        (6, "methods"),
        (6, "methods"),
        (6, "methods"),
        (7, "headers"),
        (7, "headers"),
        (7, "headers"),
        (8, "rewrite"),
        (9, "path_prefix"),
        (10, "rewrite"),
        (11, "path_exact"),
    ];
    assert_eq!(keys_of(&errs), want, "{errs:#?}");
    assert!(errs[1].message.contains("*bad.com"), "{}", errs[1]);
    assert!(errs[2].message.contains("duplicate"), "{}", errs[2]);
    assert!(errs[9].message.contains("GET"), "{}", errs[9]);
    assert_eq!(
        errs[0].to_string().split(':').next(),
        Some("route[1].path_template")
    );
}

#[test]
fn build_checks_each_key() {
    let cases: Vec<(R, &str)> = vec![
        (r().template("/a/{b}x"), "path_template"),
        (r().template("/a/{b}/{b}"), "path_template"),
        (r().template("/a/{}"), "path_template"),
        (r().template("/a/{b-c}"), "path_template"),
        (r().template("/{*a}/b"), "path_template"),
        (r().template("/a/./{b}"), "path_template"),
        (r().exact("/a b"), "path_exact"),
        (r().exact("/a?b"), "path_exact"),
        (r().prefix("/a//b"), "path_prefix"),
        (r().prefix("/a%2fb"), "path_prefix"),
        (r().hosts(&["a.*.com"]), "hosts"),
        (r().hosts(&["a.com:80"]), "hosts"),
        (r().hosts(&["a..com"]), "hosts"),
        (r().hosts(&["*"]), "hosts"),
        (r().methods(&["GE T"]), "methods"),
        (r().header("", Some("1"), None), "headers"),
        (r().header("x-a", Some(" 1"), None), "headers"),
        (
            r().header("x-a", Some("1"), None)
                .header("X-A", None, Some(true)),
            "headers",
        ),
        (r().template("/a/{b}").strip(), "strip_prefix"),
        (r().prefix("/a").rewrite("v2"), "rewrite"),
        (r().prefix("/a").rewrite("/v2/{x}"), "rewrite"),
        (r().exact("/a").rewrite("/b/../c"), "rewrite"),
        (r().exact("/a").rewrite("/b c"), "rewrite"),
    ];
    for (route, key) in cases {
        let errs = build_errors(std::slice::from_ref(&route));
        assert_eq!(keys_of(&errs), vec![(0, key)], "{:?} {errs:#?}", route.0);
    }
}

#[test]
fn build_accepts_edge_cases() {
    build(&[
        r().methods(&["PURGE", "M-SEARCH"]),
        r().prefix("/a").rewrite("/"),
        r().template("/{a}/{*b}").rewrite("/{b}/{a}"),
        r().template("/f/{*rest}").rewrite("/g/{*rest}"),
        r().hosts(&["*.com", "xn--bcher-kva.example", "_srv.example.com", "::1"]),
        r().header("x-a", Some(""), None),
        r().exact("/.well-known/acme-challenge"),
    ]);
}

#[test]
fn shadowed_routes_are_errors() {
    let errs = build_errors(&[
        r().hosts(&["a.com"]).prefix("/x").methods(&["GET", "POST"]), // 0
        r().hosts(&["A.com."])
            .prefix("/x")
            .methods(&["POST", "GET"])
            .strip(), // 1
        r().template("/u/{id}"),                                      // 2
        r().template("/u/{name}"),                                    // 3
        r().hosts(&["b.com", "a.com"])
            .prefix("/x")
            .methods(&["GET", "POST"]), // 4
        r().header("x", Some("1"), None)
            .header("y", None, Some(true)), // 5
        r().header("Y", None, Some(true))
            .header("X", Some("1"), None), // 6
    ]);
    assert_eq!(
        keys_of(&errs),
        vec![
            (1, "path_prefix"),
            (3, "path_template"),
            (4, "path_prefix"),
            (6, "hosts")
        ]
    );
    assert!(
        errs[0].message.contains("shadowed by route 0"),
        "{}",
        errs[0]
    );
    assert!(
        errs[1].message.contains("shadowed by route 2"),
        "{}",
        errs[1]
    );
    assert!(
        errs[3].message.contains("shadowed by route 5"),
        "{}",
        errs[3]
    );
}

#[test]
fn not_shadowed_when_criteria_differ() {
    build(&[
        r().prefix("/x"),
        r().prefix("/x").case_sensitive(),
        r().prefix("/x").methods(&["GET"]),
        r().prefix("/x").hosts(&["a.com"]),
        r().prefix("/x").hosts(&["*.a.com"]),
        r().exact("/x"),
        r().template("/x"),
        r().prefix("/x").header("h", Some("1"), None),
        r().prefix("/x").header("h", None, Some(true)),
    ]);
}

#[test]
fn empty_router_matches_nothing() {
    let router = build(&[]);
    assert!(router.is_empty());
    assert_eq!(router.len(), 0);
    assert_eq!(lookup(&router, &get(Some("a.com"), "/")), None);
}

/// 1,000 routes across hosts, wildcards, prefixes, templates and exact
/// paths; a sample of lookups must find the route we expect.
#[test]
fn scale_thousand_routes() {
    let mut routes = Vec::new();
    for i in 0..1000 {
        let host = format!("svc{}.example.com", i % 50);
        let route = match i % 5 {
            0 => r().hosts(&[&host]).prefix(&format!("/p{i}")),
            1 => r()
                .hosts(&[&host])
                .template(&format!("/t{i}/{{id}}/items/{{item}}")),
            2 => r().hosts(&[&host]).exact(&format!("/e{i}")),
            3 => r()
                .hosts(&[&format!("*.w{}.example.com", i % 20)])
                .prefix(&format!("/w{i}")),
            _ => r().prefix(&format!("/any{i}")).methods(&["GET"]),
        };
        routes.push(route);
    }
    let router = build(&routes);
    assert_eq!(router.len(), 1000);
    for i in (0..1000).step_by(7) {
        let host = format!("svc{}.example.com", i % 50);
        let (h, path) = match i % 5 {
            0 => (host, format!("/p{i}/deep/er")),
            1 => (host, format!("/t{i}/42/items/x")),
            2 => (host, format!("/e{i}")),
            3 => (format!("a.b.w{}.example.com", i % 20), format!("/w{i}")),
            _ => (host, format!("/any{i}/x")),
        };
        let m = lookup(&router, &get(Some(&h), &path));
        assert_eq!(m.as_ref().map(|m| m.route), Some(i), "{h} {path}");
        if i % 5 == 1 {
            let m = m.unwrap();
            assert_eq!(m.param(&router, path.as_bytes(), "item"), Some(&b"x"[..]));
        }
    }
    // wrong host for a host-specific route: no match; prefix must be whole
    assert_eq!(lookup(&router, &get(Some("svc1.example.com"), "/p0")), None);
    assert_eq!(
        lookup(&router, &get(Some("svc0.example.com"), "/p0x")),
        None
    );
    let post = Req {
        host: None,
        path: "/any4",
        method: "POST",
        headers: &[],
    };
    assert_eq!(lookup(&router, &post), None);
}
