//! The source's layers: modules do not depend on each other in a circle, and
//! only the command line's own modules see `cli`, `config` and the settings
//! in the environment. Read from `src/`: an edge A -> B is a `crate::` or
//! `super::` path in A's file (`use` groups expanded), outside its tests.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Circles allowed to stay, each one strongly connected set, at file and
/// at top level: none.
const KNOWN_CIRCLES: &[&[&str]] = &[];

/// Modules that may see the command line: the wiring, the docs generated
/// from it, and the two layers that read it.
const SEE_THE_COMMAND_LINE: &[&str] = &["", "main", "cli", "config", "man"];

struct Module {
    path: String,
    text: String,
}

/// Every module of `src/`, by path (`exec::pool`; `` for the crate root).
fn modules(src: &Path) -> Vec<Module> {
    let mut found = Vec::new();
    let mut dirs = vec![src.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("src/ is readable") {
            let file = entry.expect("a directory entry").path();
            if file.is_dir() {
                dirs.push(file);
                continue;
            }
            if file.extension().map_or(true, |e| e != "rs") {
                continue;
            }
            let rel = file.strip_prefix(src).expect("under src/").with_extension("");
            let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
            if parts.last().is_some_and(|p| p == "mod") {
                parts.pop();
            }
            if parts == ["lib"] {
                parts.clear();
            }
            let text = std::fs::read_to_string(&file).expect("a source file is readable");
            found.push(Module {
                path: parts.join("::"),
                text: code_of(&text),
            });
        }
    }
    found.sort_by(|a, b| a.path.cmp(&b.path));
    found
}

/// The module's code: line comments and the `mod tests` at its end left out.
fn code_of(text: &str) -> String {
    let body = match text.find("#[cfg(test)]\nmod tests") {
        Some(at) => &text[..at],
        None => text,
    };
    body.lines()
        .map(|line| match line.find("//") {
            Some(at) => &line[..at],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Every path that starts at `crate::` or `super::` in `code`, as written
/// from there, `use` groups expanded: `crate::exec::{pool, frame::X}` gives
/// `crate::exec::pool` and `crate::exec::frame::X`.
fn paths(code: &str) -> Vec<Vec<String>> {
    let bytes = code.as_bytes();
    let mut out = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let starts = [&b"crate::"[..], b"super::"].iter().any(|p| bytes[at..].starts_with(p));
        if starts && (at == 0 || !is_ident(bytes[at - 1]) && bytes[at - 1] != b':') {
            let mut end = at;
            out.extend(tree(code, &mut end, Vec::new()));
            at = end.max(at + 1);
        } else {
            at += 1;
        }
    }
    out
}

/// Parses one path or `{…}` group at `*at`, after `prefix`.
fn tree(code: &str, at: &mut usize, mut prefix: Vec<String>) -> Vec<Vec<String>> {
    let bytes = code.as_bytes();
    let skip_space = |at: &mut usize| {
        while *at < bytes.len() && bytes[*at].is_ascii_whitespace() {
            *at += 1;
        }
    };
    loop {
        skip_space(at);
        if *at < bytes.len() && bytes[*at] == b'{' {
            *at += 1;
            let mut out = Vec::new();
            loop {
                skip_space(at);
                match bytes.get(*at) {
                    None => return out,
                    Some(b'}') => {
                        *at += 1;
                        return out;
                    }
                    Some(b',') => *at += 1,
                    Some(_) => {
                        let before = *at;
                        out.extend(tree(code, at, prefix.clone()));
                        if *at == before {
                            *at += 1;
                        }
                    }
                }
            }
        }
        let start = *at;
        while *at < bytes.len() && is_ident(bytes[*at]) {
            *at += 1;
        }
        if start == *at {
            return vec![prefix];
        }
        prefix.push(String::from_utf8_lossy(&bytes[start..*at]).into_owned());
        if bytes[*at..].starts_with(b"::") {
            *at += 2;
        } else {
            return vec![prefix];
        }
    }
}

/// The module a path names: its longest prefix that is a module, seen from
/// `from`. `None` for the crate root's own items.
fn resolve(from: &str, path: &[String], known: &BTreeSet<String>) -> Option<String> {
    let mut base: Vec<&str> = if from.is_empty() {
        Vec::new()
    } else {
        from.split("::").collect()
    };
    let mut rest = path;
    match rest.first().map(String::as_str) {
        Some("crate") => {
            base.clear();
            rest = &rest[1..];
        }
        Some("super") => {
            while rest.first().is_some_and(|p| p == "super") {
                base.pop();
                rest = &rest[1..];
            }
        }
        _ => return None,
    }
    let full: Vec<&str> = base.into_iter().chain(rest.iter().map(String::as_str)).collect();
    (0..=full.len())
        .rev()
        .map(|n| full[..n].join("::"))
        .find(|candidate| known.contains(candidate))
}

/// Module -> modules it uses. Edges to a module's own ancestors are left
/// out (a submodule uses what its parent declares for it), and so are edges
/// to the crate root, whose few helpers (`lock`, `say`) every layer shares.
fn edges(modules: &[Module]) -> BTreeMap<String, BTreeSet<String>> {
    let known: BTreeSet<String> = modules.iter().map(|m| m.path.clone()).collect();
    let mut edges = BTreeMap::new();
    for module in modules {
        let targets: BTreeSet<String> = paths(&module.text)
            .iter()
            .filter_map(|p| resolve(&module.path, p, &known))
            .filter(|t| !t.is_empty() && t != &module.path && !module.path.starts_with(&format!("{t}::")))
            .collect();
        edges.insert(module.path.clone(), targets);
    }
    edges
}

/// The same edges between top-level modules (`exec::pool` -> `exec`).
fn top_level(edges: &BTreeMap<String, BTreeSet<String>>) -> BTreeMap<String, BTreeSet<String>> {
    let top = |m: &str| m.split("::").next().unwrap_or_default().to_string();
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (from, targets) in edges {
        let entry = out.entry(top(from)).or_default();
        entry.extend(targets.iter().map(|t| top(t)).filter(|t| *t != top(from)));
    }
    out
}

/// Strongly connected sets of more than one module (Tarjan's algorithm).
fn circles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct State<'a> {
        edges: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        found: Vec<Vec<String>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a str) {
        let n = s.index.len();
        s.index.insert(v, n);
        s.low.insert(v, n);
        s.stack.push(v);
        let targets = s.edges.get(v).into_iter().flatten();
        for w in targets {
            let w = w.as_str();
            if !s.index.contains_key(w) {
                visit(s, w);
                let low = s.low[v].min(s.low[w]);
                s.low.insert(v, low);
            } else if s.stack.contains(&w) {
                let low = s.low[v].min(s.index[w]);
                s.low.insert(v, low);
            }
        }
        if s.low[v] == s.index[v] {
            let mut set = Vec::new();
            while let Some(w) = s.stack.pop() {
                set.push(w.to_string());
                if w == v {
                    break;
                }
            }
            if set.len() > 1 {
                set.sort();
                s.found.push(set);
            }
        }
    }
    let mut s = State {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        found: Vec::new(),
    };
    for v in edges.keys() {
        if !s.index.contains_key(v.as_str()) {
            visit(&mut s, v);
        }
    }
    s.found
}

fn describe(set: &[String], edges: &BTreeMap<String, BTreeSet<String>>) -> String {
    let mut text = format!("circle: {}", set.join(", "));
    for from in set {
        for to in edges[from].iter().filter(|t| set.contains(t)) {
            text.push_str(&format!("\n  {from} -> {to}"));
        }
    }
    text
}

fn src() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn no_module_circles() {
    let modules = modules(&src());
    assert!(modules.len() > 20, "src/ holds the crate's modules");
    let files = edges(&modules);
    let tops = top_level(&files);
    let mut unknown = Vec::new();
    for graph in [&files, &tops] {
        for set in circles(graph) {
            if !KNOWN_CIRCLES.iter().any(|known| *known == set) {
                unknown.push(describe(&set, graph));
            }
        }
    }
    assert!(
        unknown.is_empty(),
        "modules depend on each other in a circle:\n{}",
        unknown.join("\n")
    );
}

#[test]
fn only_the_command_line_layers_see_cli_config_and_settings() {
    let modules = modules(&src());
    let files = edges(&modules);
    let mut wrong = Vec::new();
    for (from, targets) in &files {
        if SEE_THE_COMMAND_LINE.contains(&from.as_str()) {
            continue;
        }
        for to in targets.iter().filter(|t| *t == "cli" || *t == "config") {
            wrong.push(format!("{from} uses crate::{to}"));
        }
    }
    for module in modules.iter().filter(|m| m.path != "config") {
        for (at, _) in module.text.match_indices("env::var") {
            let call = &module.text[at..];
            let argument = call.split_once('(').map_or("", |(_, rest)| rest.trim_start());
            if argument.starts_with("\"PPOOL_") {
                wrong.push(format!(
                    "{} reads a setting from the environment: {}",
                    module.path,
                    &call[..call.len().min(40)]
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "engine modules reach past config:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn paths_are_found_in_groups_and_relative_to_the_module() {
    let code = "use crate::exec::{pool::PoolExecutor, frame::{self, ReadBuf}};\nuse super::Executor;\nlet x = crate::lock(&m); // crate::cli\nmy_crate::cli::X;";
    let found: Vec<String> = paths(&code_of(code)).iter().map(|p| p.join("::")).collect();
    assert_eq!(
        found,
        [
            "crate::exec::pool::PoolExecutor",
            "crate::exec::frame::self",
            "crate::exec::frame::ReadBuf",
            "super::Executor",
            "crate::lock",
        ]
    );
    let known: BTreeSet<String> = ["", "exec", "exec::pool", "exec::frame", "task"]
        .into_iter()
        .map(String::from)
        .collect();
    let path = |p: &str| p.split("::").map(String::from).collect::<Vec<_>>();
    assert_eq!(
        resolve("exec::pool", &path("super::frame::ReadBuf"), &known).as_deref(),
        Some("exec::frame")
    );
    assert_eq!(
        resolve("exec", &path("super::task::Outcome"), &known).as_deref(),
        Some("task")
    );
    assert_eq!(resolve("task", &path("crate::lock"), &known).as_deref(), Some(""));
    let graph: BTreeMap<String, BTreeSet<String>> = [("a", "b"), ("b", "c"), ("c", "a"), ("d", "a")]
        .into_iter()
        .map(|(f, t)| (f.to_string(), BTreeSet::from([t.to_string()])))
        .collect();
    assert_eq!(circles(&graph), [["a", "b", "c"]]);
}

/// CI runs the suite again on the static musl binary through `PPOOL_BIN`:
/// a test that asks cargo for the binary itself would test the other one.
#[test]
fn every_test_takes_the_binary_from_util() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let mut direct = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("reading tests/").flatten() {
        let path = entry.path();
        if path.file_name().is_some_and(|n| n == "util.rs" || n == "layers.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        if text.contains("cargo_bin(") {
            direct.push(path.display().to_string());
        }
    }
    assert!(
        direct.is_empty(),
        "use crate::util::bin() or util::ppool() in: {direct:?}"
    );
}
