//! The project never reads a directory beside its checkout: no source, test, xtask, build or
//! doc file names one (the profiles it needs are in profiles/).

use enforcer_tests::*;
use std::path::{Path, PathBuf};

/// Spelled in two pieces so that this file does not name them itself.
const FORBIDDEN: [&str; 2] = [concat!("..", "/shared"), concat!("/work", "/shared")];
const CHECKED: [&str; 10] = [
    "rs", "toml", "sh", "md", "json", "yaml", "yml", "service", "conf", "txt",
];

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with('.') || name == "target" {
            continue;
        }
        if path.is_dir() {
            files(&path, out);
        } else if path
            .extension()
            .is_some_and(|e| CHECKED.contains(&e.to_string_lossy().as_ref()))
        {
            out.push(path);
        }
    }
}

#[test]
fn no_file_names_a_directory_beside_the_checkout() {
    let root = repo_root();
    let mut all = Vec::new();
    files(&root, &mut all);
    assert!(
        all.iter().any(|p| p.ends_with("xtask/src/main.rs")),
        "the walk must reach xtask: {}",
        root.display()
    );
    let offenders: Vec<String> = all
        .iter()
        .filter_map(|p| {
            let text = std::fs::read_to_string(p).ok()?;
            let hits: Vec<String> = text
                .lines()
                .enumerate()
                .filter(|(_, l)| FORBIDDEN.iter().any(|f| l.contains(f)))
                .map(|(n, l)| format!("{}:{}: {}", p.display(), n + 1, l.trim()))
                .collect();
            (!hits.is_empty()).then(|| hits.join("\n"))
        })
        .collect();
    assert!(
        offenders.is_empty(),
        "the project must carry what it needs (see profiles/):\n{}",
        offenders.join("\n")
    );
}
