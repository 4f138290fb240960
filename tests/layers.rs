//! The module layering of docs/ARCHITECTURE.md, checked on the source: no
//! import cycle between the top-level modules of `src/`, and `config` is a
//! leaf. A `crate::x` path anywhere in a module's files (a `use`, a
//! `use crate::{x, y::z}` group, or a path in code) is an edge to `x`.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

type Graph = BTreeMap<String, BTreeSet<String>>;

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The top-level modules: `src/x/` folders and `src/x.rs` files.
fn modules(src: &Path) -> BTreeSet<String> {
    fs::read_dir(src)
        .unwrap()
        .filter_map(|e| {
            let path = e.unwrap().path();
            let name = path.file_stem()?.to_str()?.to_string();
            let is_module = path.is_dir() || path.extension().is_some_and(|x| x == "rs");
            (is_module && name != "lib" && name != "main").then_some(name)
        })
        .collect()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    if dir.is_file() {
        out.push(dir.to_path_buf());
        return;
    }
    for e in fs::read_dir(dir).unwrap() {
        let path = e.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|x| x == "rs") {
            out.push(path);
        }
    }
}

/// The text without `//` comments (doc comments mention other modules).
fn code_of(text: &str) -> String {
    text.lines()
        .map(|l| l.find("//").map_or(l, |i| &l[..i]))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Names right after `crate::`, and every first segment inside a
/// `crate::{...}` group (nested groups included).
fn referenced(code: &str, known: &BTreeSet<String>) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for (i, _) in code.match_indices("crate::") {
        let rest = &code[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find(';').unwrap_or(group.len());
            for word in group[..end].split(|c: char| !(c.is_alphanumeric() || c == '_')) {
                if known.contains(word) {
                    found.insert(word.to_string());
                }
            }
        } else {
            let word: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if known.contains(&word) {
                found.insert(word);
            }
        }
    }
    found
}

fn graph() -> Graph {
    let src = src();
    let known = modules(&src);
    let mut graph = Graph::new();
    for module in &known {
        let mut files = Vec::new();
        let dir = src.join(module);
        rust_files(
            &if dir.is_dir() {
                dir
            } else {
                src.join(format!("{module}.rs"))
            },
            &mut files,
        );
        let mut edges = BTreeSet::new();
        for f in files {
            edges.extend(referenced(
                &code_of(&fs::read_to_string(f).unwrap()),
                &known,
            ));
        }
        edges.remove(module);
        graph.insert(module.clone(), edges);
    }
    graph
}

/// A cycle through `start`, if there is one (depth-first search).
fn cycle_from(graph: &Graph, start: &str) -> Option<Vec<String>> {
    fn walk(graph: &Graph, at: &str, path: &mut Vec<String>, start: &str) -> bool {
        for next in graph.get(at).into_iter().flatten() {
            if next == start {
                return true;
            }
            if path.contains(next) {
                continue;
            }
            path.push(next.clone());
            if walk(graph, next, path, start) {
                return true;
            }
            path.pop();
        }
        false
    }
    let mut path = vec![start.to_string()];
    walk(graph, start, &mut path, start).then_some(path)
}

#[test]
fn top_level_modules_import_each_other_without_cycles() {
    let graph = graph();
    for module in graph.keys() {
        if let Some(cycle) = cycle_from(&graph, module) {
            panic!(
                "import cycle: {} -> {module}\n{graph:#?}",
                cycle.join(" -> ")
            );
        }
    }
}

#[test]
fn config_is_a_leaf() {
    let graph = graph();
    let config = graph.get("config").expect("src/config exists");
    assert!(config.is_empty(), "config imports {config:?}");
}

#[test]
fn the_checker_sees_edges_in_use_groups_and_paths() {
    let known: BTreeSet<String> = ["a", "b", "c", "d"].map(String::from).into();
    let code =
        code_of("use crate::a::X;\nuse crate::{b::Y, c};\nfn f() { crate::d::g() } // crate::a");
    assert_eq!(referenced(&code, &known), known);
    let mut g = Graph::new();
    g.insert("a".into(), ["b".to_string()].into());
    g.insert("b".into(), ["a".to_string()].into());
    assert!(cycle_from(&g, "a").is_some());
    g.insert("b".into(), BTreeSet::new());
    assert!(cycle_from(&g, "a").is_none());
}
