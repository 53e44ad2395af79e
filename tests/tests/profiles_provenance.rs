//! profiles/ holds the real Docker and Podman profiles unchanged: each file is the blob its
//! README names, and the README's table and the directory list the same files.

use enforcer_tests::*;
use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Stdio};

/// file name -> blob id, from the table in profiles/README.md.
fn table() -> BTreeMap<String, String> {
    let readme = std::fs::read_to_string(real_profile("README.md")).expect("profiles/README.md");
    readme
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let (file, blob) = (cells.get(1)?, cells.get(2)?);
            let is_blob = blob.len() == 40 && blob.bytes().all(|b| b.is_ascii_hexdigit());
            (file.ends_with(".json") && is_blob).then(|| (file.to_string(), blob.to_string()))
        })
        .collect()
}

fn git_blob_id(bytes: &[u8]) -> String {
    let mut git = Command::new("git")
        .args(["hash-object", "--stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("git is needed to check the profiles against their upstream blob ids");
    git.stdin.take().unwrap().write_all(bytes).unwrap();
    let out = git.wait_with_output().unwrap();
    assert!(out.status.success(), "git hash-object failed");
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// seccomp/default.json in github.com/moby/profiles at cd3bed8061c7: the built-in default is
/// this file (a unit test in enforcer compares the embedded bytes with it).
const DOCKER_DEFAULT_BLOB: &str = "ea5a494afb8d64898fa0f4f47ae0c4f5ba9cbbc9";

#[test]
fn every_profile_is_the_blob_its_readme_names() {
    let table = table();
    assert!(table.len() >= 7, "profiles/README.md lists {table:?}");
    assert_eq!(table["docker-default.json"], DOCKER_DEFAULT_BLOB);
    let dir = real_profile("");
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".json"))
        .collect();
    on_disk.sort();
    assert_eq!(
        on_disk,
        table.keys().cloned().collect::<Vec<_>>(),
        "profiles/ and the table in profiles/README.md must list the same files"
    );
    for (file, blob) in &table {
        let bytes = std::fs::read(dir.join(file)).unwrap();
        assert_eq!(
            &git_blob_id(&bytes),
            blob,
            "profiles/{file} is not the file profiles/README.md names: the profiles are copied unchanged"
        );
    }
}
