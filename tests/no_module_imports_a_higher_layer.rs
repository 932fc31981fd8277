//! The crate's core is five layers (see `src/lib.rs`, "Layers"): base,
//! sched, cell, many, face; `cluster/` and `process/` sit above the face.
//! A file may use its own layer and the ones below it, never one above.
//! This test reads every `crate::` path in `src/` outside `#[cfg(test)]`
//! code (comments, strings and test-only items stripped) and names every
//! path that goes up. It also holds the cell layer to 800 lines a file.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

const BASE: u8 = 0;
const SCHED: u8 = 1;
const CELL: u8 = 2;
const MANY: u8 = 3;
const FACE: u8 = 4;
const ABOVE: u8 = 5;

const LAYER_NAMES: [&str; 6] = ["base", "sched", "cell", "many", "face", "above"];

/// Every module of the crate and its layer. A module missing here fails the
/// test: a new file must say where it sits.
fn layer_of(module: &str) -> Option<u8> {
    Some(match module {
        "topology" | "sync" | "util" | "error" | "unwind" | "clock" | "injector" => BASE,
        "job" | "sleep" | "slots" | "registry" | "worker" | "blocking" => SCHED,
        "task" | "cancel" | "wait" => CELL,
        "join" | "scope" | "submit" | "install" | "map" | "completion" | "group" | "par"
        | "shared" | "promise" => MANY,
        "pool" | "builder" | "global" | "lib" | "prelude" => FACE,
        "cluster" | "process" => ABOVE,
        _ => return None,
    })
}

/// The module a file belongs to: `src/x.rs` and `src/x/...` are `x`.
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).expect("a file under src/");
    let first = rel.components().next().expect("a path");
    let name = first.as_os_str().to_string_lossy();
    name.strip_suffix(".rs").unwrap_or(&name).to_string()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("readable src/") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The source with comments, string and char literals blanked out (kept as
/// spaces, so that braces in them do not count and lines stay put).
fn strip(source: &str) -> String {
    let bytes = source.as_bytes();
    let mut out = String::with_capacity(source.len());
    let mut i = 0;
    while i < bytes.len() {
        let rest = &source[i..];
        if rest.starts_with("//") {
            let end = rest.find('\n').map_or(bytes.len(), |n| i + n);
            out.push_str(&" ".repeat(end - i));
            i = end;
        } else if rest.starts_with("/*") {
            let mut depth = 0;
            let mut j = i;
            while j < bytes.len() {
                if source[j..].starts_with("/*") {
                    depth += 1;
                    j += 2;
                } else if source[j..].starts_with("*/") {
                    depth -= 1;
                    j += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    j += 1;
                }
            }
            blank(&source[i..j], &mut out);
            i = j;
        } else if let Some(len) = raw_string_len(rest) {
            blank(&rest[..len], &mut out);
            i += len;
        } else if bytes[i] == b'"' {
            let mut j = i + 1;
            while j < bytes.len() && bytes[j] != b'"' {
                j += if bytes[j] == b'\\' { 2 } else { 1 };
            }
            blank(&source[i..=j.min(bytes.len() - 1)], &mut out);
            i = j + 1;
        } else if bytes[i] == b'\'' {
            // A char literal ('x', '\n', '\''), not a lifetime ('a).
            let len = if rest[1..].starts_with('\\') {
                rest[2..].find('\'').map(|n| n + 3)
            } else {
                let c = rest[1..].chars().next().map_or(1, char::len_utf8);
                rest[1 + c..].starts_with('\'').then_some(c + 2)
            };
            match len {
                Some(len) => {
                    blank(&rest[..len], &mut out);
                    i += len;
                }
                None => {
                    out.push('\'');
                    i += 1;
                }
            }
        } else {
            let c = rest.chars().next().expect("not at the end");
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

fn raw_string_len(rest: &str) -> Option<usize> {
    let after_r = rest.strip_prefix("br").or_else(|| rest.strip_prefix('r'))?;
    let hashes = after_r.len() - after_r.trim_start_matches('#').len();
    let body = after_r[hashes..].strip_prefix('"')?;
    let close = format!("\"{}", "#".repeat(hashes));
    let end = body.find(&close)?;
    Some(rest.len() - body.len() + end + close.len())
}

fn blank(text: &str, out: &mut String) {
    out.extend(text.chars().map(|c| if c == '\n' { '\n' } else { ' ' }));
}

/// Blanks every item under a `#[cfg(...)]` that mentions `test` (unit
/// tests and loom models), attributes and all.
fn drop_test_items(code: &str) -> String {
    let mut out = code.to_string();
    let mut from = 0;
    while let Some(at) = out[from..].find("#[cfg(") {
        let start = from + at;
        let attr_end = start + out[start..].find(']').expect("a closed attribute");
        let attr = &out[start..attr_end];
        let test_only = attr
            .split(|c: char| !c.is_alphanumeric() && c != '_')
            .any(|word| word == "test")
            && !attr.contains("not(test");
        if !test_only {
            from = attr_end;
            continue;
        }
        // The item ends at the first `;` before any brace, or at the brace
        // that closes the first one.
        let bytes = out.as_bytes();
        let mut j = attr_end + 1;
        let mut depth = 0usize;
        while j < bytes.len() {
            match bytes[j] {
                b'#' if depth == 0 && out[j..].starts_with("#[") => {
                    j += out[j..].find(']').expect("a closed attribute");
                }
                b';' if depth == 0 => break,
                b'{' => depth += 1,
                b'}' => {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
                _ => {}
            }
            j += 1;
        }
        let end = (j + 1).min(out.len());
        let blanked: String = out[start..end]
            .chars()
            .map(|c| if c == '\n' { '\n' } else { ' ' })
            .collect();
        out.replace_range(start..end, &blanked);
        from = end;
    }
    out
}

/// The first segment of every `crate::` path, with the line it is on and
/// whether a `::` follows it (then it names a module); `crate::{a::X, b}`
/// gives `a` and `b`.
fn crate_paths(code: &str) -> Vec<(usize, String, bool)> {
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(at) = code[from..].find("crate::") {
        let start = from + at;
        from = start + "crate::".len();
        let before = code[..start].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue; // `$crate::` or `my_crate::`
        }
        let line = code[..start].matches('\n').count() + 1;
        let rest = code[from..].trim_start();
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 1;
            let mut segment_start = true;
            let mut chars = group.char_indices().peekable();
            while let Some((k, c)) = chars.next() {
                match c {
                    '{' => depth += 1,
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    ',' if depth == 1 => segment_start = true,
                    c if depth == 1 && segment_start && (c.is_alphabetic() || c == '_') => {
                        let name: String = group[k..]
                            .chars()
                            .take_while(|c| c.is_alphanumeric() || *c == '_')
                            .collect();
                        for _ in 1..name.chars().count() {
                            chars.next();
                        }
                        let module = name.starts_with(char::is_lowercase)
                            && group[k + name.len()..].trim_start().starts_with("::");
                        found.push((line, name, module));
                        segment_start = false;
                    }
                    _ => {}
                }
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                let module = name.starts_with(char::is_lowercase)
                    && rest[name.len()..].trim_start().starts_with("::");
                found.push((line, name, module));
            }
        }
    }
    found
}

/// What each name re-exported at the crate root comes from, read from the
/// `pub use` lines of `lib.rs`.
fn root_exports(lib: &str) -> BTreeMap<String, String> {
    let mut map = BTreeMap::new();
    for statement in lib.split(';') {
        let Some(rest) = statement.trim().strip_prefix("pub use ") else {
            continue;
        };
        let Some((module, items)) = rest.split_once("::") else {
            continue;
        };
        for item in items
            .trim_matches(|c: char| c == '{' || c == '}' || c.is_whitespace())
            .split(',')
        {
            let item = item.trim();
            let name = item.rsplit("::").next().unwrap_or(item).trim();
            if !name.is_empty() {
                map.insert(name.to_string(), module.trim().to_string());
            }
        }
    }
    map
}

#[test]
fn no_file_imports_a_module_of_a_higher_layer() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let lib = strip(&fs::read_to_string(src.join("lib.rs")).expect("lib.rs"));
    let exports = root_exports(&lib);

    let mut problems = Vec::new();
    for file in &files {
        let module = module_of(&src, file);
        let Some(layer) = layer_of(&module) else {
            problems.push(format!(
                "{}: module `{module}` has no layer",
                file.display()
            ));
            continue;
        };
        let source = fs::read_to_string(file).expect("a readable source file");
        let code = drop_test_items(&strip(&source));
        for (line, name, is_module) in crate_paths(&code) {
            // A root re-export is the public API: what `cluster/` and
            // `process/` may use; inside the core it counts as its module.
            let (target, public) = match exports.get(&name) {
                Some(module) if !is_module => (module.clone(), true),
                _ => (name.clone(), false),
            };
            let Some(target_layer) = layer_of(&target) else {
                problems.push(format!(
                    "{}:{line}: `crate::{name}` is neither a module nor a root re-export",
                    file.display()
                ));
                continue;
            };
            let allowed = if layer == ABOVE {
                // Above the face: the public API, the face, the base.
                public || target_layer == FACE || target_layer == BASE || target == module
            } else if layer == MANY && target == "pool" {
                // The many layer adds methods to `Pool`: the type only.
                name == "Pool" || name == "pool"
            } else {
                target_layer <= layer
            };
            if !allowed {
                problems.push(format!(
                    "{}:{line}: {} `{module}` uses `crate::{name}` ({} `{target}`)",
                    file.display(),
                    LAYER_NAMES[layer as usize],
                    LAYER_NAMES[target_layer as usize],
                ));
            }
        }
        if layer == CELL {
            let lines = source.lines().count();
            if lines > 800 {
                problems.push(format!(
                    "{}: {lines} lines; a cell-layer file stays at or under 800",
                    file.display()
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "imports that go up a layer:\n{}",
        problems.join("\n")
    );
}

/// The many layer may use `Pool` (to add its methods) but nothing else of
/// `pool.rs`: checked separately, since `crate::pool::{Pool, x}` would pass
/// on its first segment.
#[test]
fn the_many_layer_takes_only_the_pool_type_from_pool_rs() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut problems = Vec::new();
    for file in &files {
        if layer_of(&module_of(&src, file)) != Some(MANY) {
            continue;
        }
        let code = drop_test_items(&strip(&fs::read_to_string(file).expect("readable")));
        for (n, line) in code.lines().enumerate() {
            let mut from = 0;
            while let Some(at) = line[from..].find("crate::pool::") {
                let rest = &line[from + at + "crate::pool::".len()..];
                let names: Vec<&str> = match rest.strip_prefix('{') {
                    Some(group) => group
                        .split('}')
                        .next()
                        .unwrap_or("")
                        .split(',')
                        .map(str::trim)
                        .collect(),
                    None => vec![
                        rest.split(|c: char| !c.is_alphanumeric() && c != '_')
                            .next()
                            .unwrap_or(""),
                    ],
                };
                for name in names.into_iter().filter(|n| !n.is_empty() && *n != "Pool") {
                    problems.push(format!("{}:{}: crate::pool::{name}", file.display(), n + 1));
                }
                from += at + 1;
            }
        }
    }
    assert!(
        problems.is_empty(),
        "the many layer takes more than `Pool` from pool.rs:\n{}",
        problems.join("\n")
    );
}
