//! Reading our images back with independent tools (Debian's `xorriso`, `isoinfo` and
//! `isovfy` from genisoimage, util-linux `blkid`): the real readers are the spec we test
//! against, not our own parser.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Runs a tool and returns stdout + stderr, failing the test with both if it fails.
pub fn run(tool: &str, args: &[&str]) -> String {
    let out = Command::new(tool).args(args).output().unwrap_or_else(|e| {
        panic!("cannot run {tool} (install xorriso, genisoimage, util-linux): {e}")
    });
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{tool} {args:?} failed:\n{text}");
    text
}

/// Which directory tree a reader should use.
#[derive(Debug, Clone, Copy)]
pub enum View {
    /// Rock Ridge (what Linux shows).
    RockRidge,
    /// Joliet (what Windows shows).
    Joliet,
    /// Plain ISO 9660 level 1 names.
    Plain,
}

/// Extracts the whole image with xorriso and returns path → bytes (directories as `dir/`).
pub fn extract(iso: &Path, view: View) -> BTreeMap<String, Vec<u8>> {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("x");
    let read_fs = match view {
        View::RockRidge => "any",
        View::Joliet => "norock",
        View::Plain => "ecma119",
    };
    let out = run(
        "xorriso",
        &[
            "-read_fs",
            read_fs,
            "-osirrox",
            "on",
            "-indev",
            iso.to_str().unwrap(),
            "-extract",
            "/",
            target.to_str().unwrap(),
        ],
    );
    assert!(
        !out.contains("SORRY") && !out.contains("WARNING") && !out.contains("FAILURE"),
        "xorriso complained:\n{out}"
    );
    let mut files = BTreeMap::new();
    walk(&target, &target, &mut files);
    files
}

fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let rel = path
            .strip_prefix(root)
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        if path.is_dir() {
            out.insert(format!("{rel}/"), Vec::new());
            walk(root, &path, out);
        } else {
            out.insert(rel, fs::read(&path).unwrap());
        }
    }
}

/// `blkid` of the image, e.g. `LABEL="cidata" TYPE="iso9660"` among its fields.
pub fn blkid(iso: &Path) -> String {
    run("blkid", &["-p", iso.to_str().unwrap()])
}

/// `isoinfo -d` (volume descriptor summary).
pub fn isoinfo_d(iso: &Path) -> String {
    run("isoinfo", &["-d", "-i", iso.to_str().unwrap()])
}

/// `isoinfo -l` listing with the given extra flag (`-J`, `-R` or none).
pub fn isoinfo_l(iso: &Path, flag: Option<&str>) -> String {
    let mut args = vec!["-l", "-i", iso.to_str().unwrap()];
    args.extend(flag);
    run("isoinfo", &args)
}

/// `isovfy`, which checks path tables and directory records against each other.
pub fn isovfy(iso: &Path) -> String {
    run("isovfy", &[iso.to_str().unwrap()])
}

/// Writes `files` (path → content) under `root`.
pub fn write_tree(root: &Path, files: &[(&str, &[u8])]) {
    for (path, content) in files {
        let path = root.join(path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, content).unwrap();
    }
}

/// The files of an extracted tree (directories dropped), for comparing with expectations.
pub fn only_files(tree: &BTreeMap<String, Vec<u8>>) -> BTreeMap<String, Vec<u8>> {
    tree.iter()
        .filter(|(k, _)| !k.ends_with('/'))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// ISO files left in `dir`.
pub fn isos_in(dir: &Path) -> Vec<PathBuf> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "iso"))
        .collect()
}
