//! The modules of each crate form layers: no module reaches, through `crate::` paths,
//! back into one that reaches it. A circle means neither side can be read, tested or
//! moved without the other; this test names the modules of any circle it finds.

use std::{
    collections::{BTreeMap, BTreeSet},
    fs,
    path::{Path, PathBuf},
};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The workspace's members, as the root `Cargo.toml` lists them.
fn crates() -> Vec<String> {
    let manifest = fs::read_to_string(root().join("Cargo.toml")).unwrap();
    let members = manifest.split("members = [").nth(1).unwrap();
    let members = &members[..members.find(']').unwrap()];
    members
        .split(',')
        .map(|m| m.trim().trim_matches('"').to_owned())
        .filter(|m| !m.is_empty())
        .collect()
}

fn rust_files(dir: &Path, into: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, into);
        } else if path.extension().is_some_and(|e| e == "rs") {
            into.push(path);
        }
    }
}

/// The top-level module a file belongs to: `src/amqp/publisher.rs` → `amqp`.
fn module_of(src: &Path, file: &Path) -> String {
    let first = file.strip_prefix(src).unwrap().components().next().unwrap();
    let name = first.as_os_str().to_string_lossy();
    name.trim_end_matches(".rs").to_owned()
}

fn identifier(text: &str) -> &str {
    let end = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    &text[..end]
}

/// The first segment of every top-level item of a `{a, b::c, d::{e, f}}` group.
fn group_heads(group: &str) -> Vec<&str> {
    let mut heads = Vec::new();
    let mut depth = 0;
    let mut start = 0;
    for (i, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => {
                heads.push(identifier(group[start..i].trim_start()));
                return heads;
            }
            '}' => depth -= 1,
            ',' if depth == 0 => {
                heads.push(identifier(group[start..i].trim_start()));
                start = i + 1;
            }
            _ => {}
        }
    }
    heads
}

/// The top-level modules `code` names through `crate::`, comments left out.
fn reached(code: &str) -> BTreeSet<String> {
    let mut modules = BTreeSet::new();
    for line in code.lines().filter(|l| !l.trim_start().starts_with("//")) {
        let mut rest = line;
        while let Some(at) = rest.find("crate::") {
            rest = &rest[at + "crate::".len()..];
            match rest.strip_prefix('{') {
                Some(group) => {
                    let end = code_from(code, line, group);
                    modules.extend(group_heads(&end).into_iter().map(str::to_owned));
                }
                None => {
                    modules.insert(identifier(rest).to_owned());
                }
            }
        }
    }
    modules.retain(|m| !m.is_empty() && m.chars().next().is_some_and(|c| c.is_lowercase()));
    modules
}

/// A `use crate::{…}` group may span lines: the text from `group` to the end of the file.
fn code_from(code: &str, line: &str, group: &str) -> String {
    let line_at = line.as_ptr() as usize - code.as_ptr() as usize;
    let group_at = line_at + (group.as_ptr() as usize - line.as_ptr() as usize);
    code[group_at..].to_owned()
}

fn graph(krate: &str) -> BTreeMap<String, BTreeSet<String>> {
    let src = root().join(krate).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let module = module_of(&src, &file);
        if module == "lib" || module == "main" || module == "bin" {
            continue;
        }
        let mut to = reached(&fs::read_to_string(&file).unwrap());
        to.remove(&module);
        edges.entry(module).or_default().extend(to);
    }
    edges
}

/// The modules on a circle through `start`, if there is one.
fn circle_through(edges: &BTreeMap<String, BTreeSet<String>>, start: &str) -> Option<Vec<String>> {
    let mut path = vec![start.to_owned()];
    let mut seen = BTreeSet::new();
    fn walk(
        edges: &BTreeMap<String, BTreeSet<String>>,
        start: &str,
        path: &mut Vec<String>,
        seen: &mut BTreeSet<String>,
    ) -> bool {
        let here = path.last().unwrap().clone();
        for next in edges.get(&here).into_iter().flatten() {
            if next == start {
                return true;
            }
            if seen.insert(next.clone()) {
                path.push(next.clone());
                if walk(edges, start, path, seen) {
                    return true;
                }
                path.pop();
            }
        }
        false
    }
    walk(edges, start, &mut path, &mut seen).then_some(path)
}

#[test]
fn no_module_reaches_back_into_one_that_reaches_it() {
    let mut circles = Vec::new();
    let crates = crates();
    assert!(crates.len() >= 7, "members read: {crates:?}");
    for krate in &crates {
        let edges = graph(krate);
        for module in edges.keys() {
            if let Some(circle) = circle_through(&edges, module) {
                circles.push(format!("{krate}: {}", circle.join(" → ")));
            }
        }
    }
    assert!(
        circles.is_empty(),
        "import circles:\n{}",
        circles.join("\n")
    );
}

#[test]
fn the_reader_sees_single_paths_groups_over_lines_and_skips_comments() {
    let code = "use crate::{\n    amqp::{Publisher, PublishError},\n    db,\n};\n// crate::retry\nfn f() { crate::trace::start(); }\n";
    let names: Vec<String> = reached(code).into_iter().collect();
    assert_eq!(names, ["amqp", "db", "trace"]);
}
