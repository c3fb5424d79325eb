//! The layering rule of `src/lib.rs`, checked on the sources: each module names only
//! modules of its own layer or of the layers before it, and no two modules name each
//! other, directly or through others. A new `use` that breaks either fails here, with
//! the module and the line.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Layer of a top-level module: 0 plain data, 1 pure logic, 2 I/O, 3 commands and TUI.
fn layer(top: &str) -> Option<u8> {
    Some(match top {
        "model" | "config" => 0,
        "logic" => 1,
        "io" | "sandbox" | "testing" => 2,
        "cmd" | "tui" => 3,
        _ => return None,
    })
}

struct Module {
    path: Vec<String>,
    /// Lines outside tests and comments, with their numbers.
    lines: Vec<(usize, String)>,
}

fn modules() -> Vec<Module> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    walk(&root, &mut files);
    let mut out = Vec::new();
    for f in files {
        let rel = f.strip_prefix(&root).unwrap().with_extension("");
        let mut path: Vec<String> = rel
            .iter()
            .map(|s| s.to_string_lossy().into_owned())
            .collect();
        if path.last().is_some_and(|l| l == "mod") {
            path.pop();
        }
        // The crate root, the binary and test-only modules are not part of a layer.
        if path == ["lib"] || path == ["main"] || path.last().is_some_and(|l| l == "tests") {
            continue;
        }
        let text = std::fs::read_to_string(&f).unwrap();
        let mut lines = Vec::new();
        for (i, line) in text.lines().enumerate() {
            if line.trim_start() == "#[cfg(test)]" {
                // Unit tests sit at the end of a file and may use anything.
                break;
            }
            let code = line.split("//").next().unwrap_or("");
            if !code.trim().is_empty() {
                lines.push((i + 1, code.to_string()));
            }
        }
        out.push(Module { path, lines });
    }
    out
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The module paths a line names through `crate::` or `super::`, braces expanded one level.
fn named(module: &[String], line: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for (start, prefix) in [("crate::", 0usize), ("super::", 1)] {
        let mut rest = line;
        while let Some(i) = rest.find(start) {
            let before = rest[..i].chars().last();
            rest = &rest[i + start.len()..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                continue;
            }
            let mut base: Vec<String> = if prefix == 0 {
                Vec::new()
            } else {
                module[..module.len().saturating_sub(1)].to_vec()
            };
            let mut tail = rest;
            while let Some(after) = tail.strip_prefix("super::") {
                base.pop();
                tail = after;
            }
            let seg: String = tail
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            let mut path = base.clone();
            path.extend(
                seg.split("::")
                    .filter(|s| !s.is_empty())
                    .map(str::to_string),
            );
            out.push(path.clone());
            if let Some(inner) = tail[seg.len()..].strip_prefix('{') {
                for item in inner.split('}').next().unwrap_or("").split(',') {
                    let item = item.trim().split(" as ").next().unwrap_or("").trim();
                    if !item.is_empty() && item != "self" {
                        let mut p = path.clone();
                        p.extend(item.split("::").map(str::to_string));
                        out.push(p);
                    }
                }
            }
        }
    }
    out
}

/// The longest prefix of `path` that is a module of the crate.
fn resolve(path: &[String], known: &BTreeSet<Vec<String>>) -> Option<Vec<String>> {
    (1..=path.len())
        .rev()
        .map(|n| path[..n].to_vec())
        .find(|p| known.contains(p))
}

#[test]
fn every_module_uses_only_its_own_layer_or_those_before_it() {
    let mods = modules();
    let known: BTreeSet<Vec<String>> = mods.iter().map(|m| m.path.clone()).collect();
    let mut broken = Vec::new();
    for m in &mods {
        let Some(own) = layer(&m.path[0]) else {
            continue;
        };
        for (n, line) in &m.lines {
            for target in named(&m.path, line) {
                let Some(t) = resolve(&target, &known) else {
                    continue;
                };
                if layer(&t[0]).is_some_and(|l| l > own) {
                    broken.push(format!("{}:{n} uses {}", m.path.join("::"), t.join("::")));
                }
            }
        }
    }
    assert!(broken.is_empty(), "layering broken:\n{}", broken.join("\n"));
}

#[test]
fn no_two_modules_depend_on_each_other() {
    let mods = modules();
    let known: BTreeSet<Vec<String>> = mods.iter().map(|m| m.path.clone()).collect();
    let mut edges: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    for m in &mods {
        let out = edges.entry(m.path.clone()).or_default();
        for (_, line) in &m.lines {
            for target in named(&m.path, line) {
                if let Some(t) = resolve(&target, &known)
                    && t != m.path
                {
                    out.insert(t);
                }
            }
        }
    }
    // A depth-first search that reports the first cycle it meets.
    fn visit(
        node: &Vec<String>,
        edges: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
        stack: &mut Vec<Vec<String>>,
        done: &mut BTreeSet<Vec<String>>,
    ) -> Option<Vec<Vec<String>>> {
        if let Some(i) = stack.iter().position(|s| s == node) {
            return Some(stack[i..].to_vec());
        }
        if done.contains(node) {
            return None;
        }
        stack.push(node.clone());
        for next in edges.get(node).into_iter().flatten() {
            if let Some(c) = visit(next, edges, stack, done) {
                return Some(c);
            }
        }
        stack.pop();
        done.insert(node.clone());
        None
    }
    let mut done = BTreeSet::new();
    for node in edges.keys() {
        if let Some(cycle) = visit(node, &edges, &mut Vec::new(), &mut done) {
            let names: Vec<String> = cycle.iter().map(|p| p.join("::")).collect();
            panic!("modules depend on each other: {} → back", names.join(" → "));
        }
    }
}
