//! No import circle anywhere in the workspace: within each crate, no file reaches itself through
//! the files it imports, and no top-level module (`kafka`, `orders`, …) through the modules it
//! imports. A module that imports only those below it can be read, and changed, from the bottom
//! up.
//!
//! Imports are read from the source: every `crate::…`, `super::…` and `self::…` path outside
//! comments, resolved to the file that defines the longest module it names. A module's own
//! `mod` declarations and its `#[cfg(test)]` blocks are not imports.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use pizza_tests::binaries::workspace_root;

/// A crate's files by module path (`["kafka", "producer"]`), and the text of each.
struct Crate {
    name: String,
    files: BTreeMap<Vec<String>, (PathBuf, String)>,
}

fn crates() -> Vec<Crate> {
    let root = workspace_root();
    let mut found = Vec::new();
    let mut roots: Vec<(String, PathBuf)> = std::fs::read_dir(root.join("crates"))
        .expect("crates/")
        .filter_map(Result::ok)
        .map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            (name, entry.path().join("src"))
        })
        .collect();
    roots.push(("pizza-tests (harness)".into(), root.join("tests/harness")));
    roots.sort();
    for (name, src) in roots {
        let mut files = BTreeMap::new();
        collect(&src, &src, &mut files);
        found.push(Crate { name, files });
    }
    found
}

fn collect(src: &Path, folder: &Path, files: &mut BTreeMap<Vec<String>, (PathBuf, String)>) {
    for entry in std::fs::read_dir(folder).expect("a source folder") {
        let path = entry.expect("an entry").path();
        if path.is_dir() {
            collect(src, &path, files);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let relative = path.strip_prefix(src).expect("under src");
            let mut module: Vec<String> = relative
                .with_extension("")
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if matches!(
                module.last().map(String::as_str),
                Some("mod" | "lib" | "main")
            ) {
                module.pop();
            }
            let text = std::fs::read_to_string(&path).expect("readable");
            files.insert(module, (path, text));
        }
    }
}

/// The code of a file: comments and `#[cfg(test)]` modules left out.
fn code(text: &str) -> String {
    let without_tests = match text.find("#[cfg(test)]\nmod tests") {
        Some(at) => &text[..at],
        None => text,
    };
    without_tests
        .lines()
        .map(|line| match line.find("//") {
            Some(at) => &line[..at],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every path that starts with `crate::`, `super::` or `self::`, as segments after it, with the
/// names a `{…}` group lists expanded.
fn paths(code: &str) -> Vec<(String, Vec<String>)> {
    let mut found = Vec::new();
    for start in ["crate::", "super::", "self::"] {
        let mut rest = code;
        while let Some(at) = rest.find(start) {
            let before = rest[..at].chars().next_back();
            rest = &rest[at + start.len()..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue;
            }
            let anchor = start.trim_end_matches("::").to_owned();
            for path in expand(rest) {
                found.push((anchor.clone(), path));
            }
        }
    }
    found
}

/// `a::b::{c, d::e}` after an anchor: [a, b, c] and [a, b, d, e] (one level of braces is all
/// the workspace writes).
fn expand(text: &str) -> Vec<Vec<String>> {
    let mut prefix = Vec::new();
    let mut rest = text;
    loop {
        let name: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if name.is_empty() {
            if let Some(group) = rest.strip_prefix('{') {
                let end = group.find('}').unwrap_or(group.len());
                return group[..end]
                    .split(',')
                    .map(|item| {
                        let mut path = prefix.clone();
                        path.extend(
                            item.split("::")
                                .map(|s| s.trim().split(' ').next().unwrap_or("").to_owned())
                                .filter(|s| !s.is_empty() && s != "self" && s != "*"),
                        );
                        path
                    })
                    .collect();
            }
            return vec![prefix];
        }
        rest = &rest[name.len()..];
        prefix.push(name);
        match rest.strip_prefix("::") {
            Some(more) => rest = more,
            None => return vec![prefix],
        }
    }
}

/// The file a path names, seen from `module`: the longest module it names that has a file.
fn resolve(
    files: &BTreeMap<Vec<String>, (PathBuf, String)>,
    module: &[String],
    anchor: &str,
    path: &[String],
) -> Option<Vec<String>> {
    let mut full: Vec<String> = match anchor {
        "crate" => Vec::new(),
        // A file is its module; `super` is the module around it.
        "super" => module[..module.len().saturating_sub(1)].to_vec(),
        _ => module.to_vec(),
    };
    full.extend(path.iter().cloned());
    (0..=full.len())
        .rev()
        .map(|n| full[..n].to_vec())
        .find(|candidate| files.contains_key(candidate))
}

/// The first cycle in `edges`, as the nodes around it.
fn cycle(edges: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        done: &mut BTreeSet<String>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = stack.iter().position(|n| n == node) {
            let mut around = stack[at..].to_vec();
            around.push(node.to_owned());
            return Some(around);
        }
        if done.contains(node) {
            return None;
        }
        stack.push(node.to_owned());
        for next in edges.get(node).into_iter().flatten() {
            if let Some(found) = visit(next, edges, done, stack) {
                return Some(found);
            }
        }
        stack.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    edges
        .keys()
        .find_map(|node| visit(node, edges, &mut done, &mut Vec::new()))
}

#[test]
fn no_file_and_no_module_of_any_crate_imports_itself_round_a_circle() {
    let mut circles = Vec::new();
    let mut checked = 0;
    for krate in crates() {
        let mut by_file: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut by_module: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (module, (_, text)) in &krate.files {
            let from = module.join("::");
            checked += 1;
            for (anchor, path) in paths(&code(text)) {
                let Some(target) = resolve(&krate.files, module, &anchor, &path) else {
                    continue;
                };
                // A file's own items, and its parent's `mod` lines, are not imports of others.
                if &target == module || target.is_empty() {
                    continue;
                }
                by_file
                    .entry(from.clone())
                    .or_default()
                    .insert(target.join("::"));
                let (top_from, top_to) = (module.first(), target.first());
                if let (Some(a), Some(b)) = (top_from, top_to) {
                    if a != b {
                        by_module.entry(a.clone()).or_default().insert(b.clone());
                    }
                }
            }
        }
        if let Some(found) = cycle(&by_file) {
            circles.push(format!("{}: files {}", krate.name, found.join(" -> ")));
        }
        if let Some(found) = cycle(&by_module) {
            circles.push(format!("{}: modules {}", krate.name, found.join(" -> ")));
        }
    }
    assert!(checked > 100, "only {checked} files read");
    assert!(
        circles.is_empty(),
        "import circles:\n{}",
        circles.join("\n")
    );
}

#[test]
fn the_reader_sees_a_circle_written_on_purpose() {
    let files: BTreeMap<Vec<String>, (PathBuf, String)> = [
        (vec!["a".into()], "use crate::b::Thing;"),
        (vec!["b".into()], "use crate::{c::X, d};"),
        (vec!["c".into()], "fn f() { super::a::g() }"),
        (vec!["d".into()], ""),
    ]
    .into_iter()
    .map(|(m, t)| (m, (PathBuf::new(), t.to_owned())))
    .collect();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (module, (_, text)) in &files {
        for (anchor, path) in paths(&code(text)) {
            if let Some(target) = resolve(&files, module, &anchor, &path) {
                if &target != module {
                    edges
                        .entry(module.join("::"))
                        .or_default()
                        .insert(target.join("::"));
                }
            }
        }
    }
    assert_eq!(
        cycle(&edges),
        Some(vec!["a".into(), "b".into(), "c".into(), "a".into()])
    );
}
