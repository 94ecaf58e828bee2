//! Turns `cd_files` / `cd_content` into the CD's tree with the semantics of Packer's
//! `CDConfig.Prepare` + `StepCreateCD` (globs expanded first, entries copied in order,
//! `cd_content` last so it wins), reading only metadata: bytes are streamed later.
//!
//! Rules, per entry of `cd_files`:
//! - relative paths resolve against the spec's base directory;
//! - an entry with `*`, `?` or `[` is a Go glob and each match is added as below (a glob
//!   that matches nothing is an error here, where Go silently adds nothing);
//! - a file goes to the CD root under its own name;
//! - a directory goes to the root under its own name with everything below it, unless the
//!   entry ends with `/`, in which case its contents go to the root (Go's behaviour for
//!   `dir/` and `/abs/dir/`; Go's accident that `./dir/` still copies `dir` itself is not kept);
//! - symlinks are followed (the target's bytes are copied), loops are an error;
//! - sockets, devices and FIFOs are an error (Go would hang or fail on them).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Component, Path, PathBuf};
use std::time::SystemTime;

use crate::error::CdError;
use crate::glob::{self, BadPattern};
use crate::tree::{Conflict, DirNode, FileNode, Source};

/// Builds the tree for `files` then `content`; `now` dates what has no local file.
pub(crate) fn collect(
    files: &[String],
    content: &BTreeMap<String, String>,
    base_dir: &Path,
    now: i64,
) -> Result<DirNode, CdError> {
    let mut root = DirNode::new(now);
    for (index, entry) in files.iter().enumerate() {
        add_entry(
            &mut root,
            &format!("cd_files[{index}]"),
            entry,
            base_dir,
            now,
        )?;
    }
    for (key, value) in content {
        let label = format!("cd_content[{key:?}]");
        let path = content_path(key).map_err(|reason| CdError::ContentPath {
            entry: label.clone(),
            reason,
        })?;
        let file = FileNode {
            source: Source::Inline(value.as_str().into()),
            len: value.len() as u64,
            mtime: now,
            executable: false,
        };
        root.put_file(&path, file, now)
            .map_err(|c| conflict(&label, c))?;
    }
    Ok(root)
}

fn conflict(entry: &str, c: Conflict) -> CdError {
    CdError::Conflict {
        entry: entry.to_owned(),
        iso_path: c.path,
        reason: c.reason,
    }
}

/// A `cd_content` key as path components inside the CD: `/` separates, empty and `.`
/// components vanish, `..` goes up but never above the root (Go's `filepath.Join` would let
/// it escape the staging folder).
pub(crate) fn content_path(key: &str) -> Result<Vec<String>, &'static str> {
    let mut parts: Vec<String> = Vec::new();
    for part in key.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err("the path leads outside the CD");
                }
            }
            other => parts.push(other.to_owned()),
        }
    }
    if parts.is_empty() {
        return Err("the path names no file");
    }
    Ok(parts)
}

fn add_entry(
    root: &mut DirNode,
    label: &str,
    entry: &str,
    base_dir: &Path,
    now: i64,
) -> Result<(), CdError> {
    if entry.is_empty() {
        return Err(CdError::Unsupported {
            entry: label.to_owned(),
            path: PathBuf::new(),
            reason: "the entry is empty".into(),
        });
    }
    let contents_only = entry.ends_with('/');
    if glob::is_glob(entry) {
        let matches =
            glob::glob(base_dir, entry).map_err(|BadPattern(reason)| CdError::BadPattern {
                entry: label.to_owned(),
                pattern: entry.to_owned(),
                reason,
            })?;
        // `dir/*/` asks for the contents of the matching directories.
        let matches: Vec<PathBuf> = if contents_only {
            matches.into_iter().filter(|m| m.is_dir()).collect()
        } else {
            matches
        };
        if matches.is_empty() {
            return Err(CdError::NoMatch {
                entry: label.to_owned(),
                pattern: entry.to_owned(),
            });
        }
        for path in matches {
            add_path(root, label, &path, contents_only, now)?;
        }
        Ok(())
    } else {
        add_path(root, label, &base_dir.join(entry), contents_only, now)
    }
}

fn add_path(
    root: &mut DirNode,
    label: &str,
    path: &Path,
    contents_only: bool,
    now: i64,
) -> Result<(), CdError> {
    let meta = fs::metadata(path).map_err(|source| CdError::Source {
        entry: label.to_owned(),
        path: path.to_owned(),
        source,
    })?;
    // `.`, `..` and `/` have no name of their own: take what is inside.
    let name = match path.components().next_back() {
        Some(Component::Normal(name)) => Some(utf8_name(label, path, name)?),
        _ => None,
    };
    if meta.is_dir() {
        let prefix: Vec<String> = match name {
            Some(name) if !contents_only => vec![name],
            _ => Vec::new(),
        };
        root.ensure_dir(&prefix, mtime(&meta, now))
            .map_err(|c| conflict(label, c))?;
        let mut ancestors = vec![canonical(label, path)?];
        walk(root, label, path, &prefix, &mut ancestors, now)
    } else if meta.is_file() {
        let Some(name) = name.filter(|_| !contents_only) else {
            return Err(unsupported(label, path, "is not a directory"));
        };
        root.put_file(&[name], file_node(label, path, &meta, now), now)
            .map_err(|c| conflict(label, c))
    } else {
        Err(unsupported(
            label,
            path,
            "is not a regular file or directory",
        ))
    }
}

/// Adds everything below the local directory `dir` at `prefix` in the CD, in name order.
fn walk(
    root: &mut DirNode,
    label: &str,
    dir: &Path,
    prefix: &[String],
    ancestors: &mut Vec<PathBuf>,
    now: i64,
) -> Result<(), CdError> {
    let read_error = |source| CdError::Source {
        entry: label.to_owned(),
        path: dir.to_owned(),
        source,
    };
    let mut entries = fs::read_dir(dir)
        .map_err(read_error)?
        .map(|e| e.map(|e| e.file_name()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(read_error)?;
    entries.sort();
    for os_name in entries {
        let path = dir.join(&os_name);
        let name = utf8_name(label, &path, &os_name)?;
        let meta = fs::metadata(&path).map_err(|source| CdError::Source {
            entry: label.to_owned(),
            path: path.clone(),
            source,
        })?;
        let mut child = prefix.to_vec();
        child.push(name);
        if meta.is_dir() {
            let real = canonical(label, &path)?;
            if ancestors.contains(&real) {
                return Err(unsupported(label, &path, "is a symlink loop"));
            }
            root.ensure_dir(&child, mtime(&meta, now))
                .map_err(|c| conflict(label, c))?;
            ancestors.push(real);
            walk(root, label, &path, &child, ancestors, now)?;
            ancestors.pop();
        } else if meta.is_file() {
            root.put_file(&child, file_node(label, &path, &meta, now), now)
                .map_err(|c| conflict(label, c))?;
        } else {
            return Err(unsupported(
                label,
                &path,
                "is not a regular file or directory",
            ));
        }
    }
    Ok(())
}

fn canonical(label: &str, path: &Path) -> Result<PathBuf, CdError> {
    fs::canonicalize(path).map_err(|source| CdError::Source {
        entry: label.to_owned(),
        path: path.to_owned(),
        source,
    })
}

fn utf8_name(label: &str, path: &Path, name: &std::ffi::OsStr) -> Result<String, CdError> {
    name.to_str()
        .map(str::to_owned)
        .ok_or_else(|| unsupported(label, path, "has a name that is not UTF-8"))
}

fn unsupported(label: &str, path: &Path, reason: &str) -> CdError {
    CdError::Unsupported {
        entry: label.to_owned(),
        path: path.to_owned(),
        reason: reason.to_owned(),
    }
}

fn file_node(label: &str, path: &Path, meta: &fs::Metadata, now: i64) -> FileNode {
    FileNode {
        source: Source::Host {
            path: path.to_owned(),
            entry: label.into(),
        },
        len: meta.len(),
        mtime: mtime(meta, now),
        executable: executable(meta),
    }
}

#[cfg(unix)]
fn executable(meta: &fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o111 != 0
}

#[cfg(not(unix))]
fn executable(_meta: &fs::Metadata) -> bool {
    false
}

fn mtime(meta: &fs::Metadata, now: i64) -> i64 {
    meta.modified().map_or(now, unix_seconds)
}

/// Seconds since the epoch (negative before it), saturating.
pub(crate) fn unix_seconds(t: SystemTime) -> i64 {
    match t.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => i64::try_from(e.duration().as_secs()).map_or(i64::MIN, |s| -s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::Node;

    fn write(root: &Path, files: &[(&str, &str)]) {
        for (path, content) in files {
            let path = root.join(path);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, content).unwrap();
        }
    }

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn content_of(root: &DirNode, path: &str) -> Option<Source> {
        let mut dir = root;
        let parts: Vec<&str> = path.split('/').collect();
        let (last, parents) = parts.split_last()?;
        for p in parents {
            match dir.children.get(*p)? {
                Node::Dir(d) => dir = d,
                Node::File(_) => return None,
            }
        }
        match dir.children.get(*last)? {
            Node::File(f) => Some(f.source.clone()),
            Node::Dir(_) => None,
        }
    }

    /// The layout of Packer's own StepCreateCD test (directories with and without a trailing
    /// slash, files with spaces and capitals, content overriding files).
    #[test]
    fn follows_packer_staging_semantics() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            &[
                ("test folder/b/test1", "1"),
                ("test folder 2/x", "3"),
                ("Test-Test-Test5.tmp", "6"),
                ("subfolder/meta-data", "from files"),
                ("subfolder/user-data", "from files"),
                ("user-data", "from files"),
            ],
        );
        let content = BTreeMap::from([
            (
                "subfolder not created by files/test.tmp".to_string(),
                "test".to_string(),
            ),
            (
                "subfolder/meta-data".to_string(),
                "from content".to_string(),
            ),
            ("/user-data".to_string(), "from content".to_string()),
        ]);
        let files = strings(&[
            "test folder",
            "test folder 2/",
            "Test-Test-Test5.tmp",
            "subfolder",
            "user-data",
        ]);
        let root = collect(&files, &content, dir.path(), 0).unwrap();
        assert_eq!(
            root.file_paths(),
            [
                "Test-Test-Test5.tmp",
                "subfolder not created by files/test.tmp",
                "subfolder/meta-data",
                "subfolder/user-data",
                "test folder/b/test1",
                "user-data",
                "x",
            ]
        );
        assert_eq!(
            content_of(&root, "subfolder/meta-data"),
            Some(Source::Inline("from content".into()))
        );
        assert_eq!(
            content_of(&root, "subfolder/user-data"),
            Some(Source::Host {
                path: dir.path().join("subfolder/user-data"),
                entry: "cd_files[3]".into()
            })
        );
    }

    #[test]
    fn globs_expand_and_report_empty_matches_with_the_entry() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            &[("x/a.cfg", "a"), ("x/b.cfg", "b"), ("x/sub/c.cfg", "c")],
        );
        let root = collect(&strings(&["x/*"]), &BTreeMap::new(), dir.path(), 0).unwrap();
        assert_eq!(root.file_paths(), ["a.cfg", "b.cfg", "sub/c.cfg"]);
        let err = collect(
            &strings(&["x/a.cfg", "x/*.ks"]),
            &BTreeMap::new(),
            dir.path(),
            0,
        )
        .unwrap_err();
        assert!(
            matches!(&err, CdError::NoMatch { entry, pattern } if entry == "cd_files[1]" && pattern == "x/*.ks")
        );
        assert_eq!(err.to_string(), "cd_files[1]: no file matches \"x/*.ks\"");
        let err = collect(&strings(&["x/[a"]), &BTreeMap::new(), dir.path(), 0).unwrap_err();
        assert!(matches!(err, CdError::BadPattern { .. }));
        // `x/*/` takes the contents of the matching directories only.
        let root = collect(&strings(&["x/*/"]), &BTreeMap::new(), dir.path(), 0).unwrap();
        assert_eq!(root.file_paths(), ["c.cfg"]);
    }

    #[test]
    fn missing_files_and_bad_entries_name_the_entry() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), &[("f", "1")]);
        let err = collect(
            &strings(&["f", "missing.cfg"]),
            &BTreeMap::new(),
            dir.path(),
            0,
        )
        .unwrap_err();
        assert!(matches!(&err, CdError::Source { entry, .. } if entry == "cd_files[1]"));
        let err = collect(&strings(&["f/"]), &BTreeMap::new(), dir.path(), 0).unwrap_err();
        assert!(matches!(
            &err,
            CdError::Source { .. } | CdError::Unsupported { .. }
        ));
        let err = collect(&strings(&[""]), &BTreeMap::new(), dir.path(), 0).unwrap_err();
        assert!(matches!(err, CdError::Unsupported { .. }));
        let content = BTreeMap::from([("../etc/passwd".to_string(), String::new())]);
        let err = collect(&[], &content, dir.path(), 0).unwrap_err();
        assert!(
            matches!(&err, CdError::ContentPath { entry, .. } if entry == "cd_content[\"../etc/passwd\"]")
        );
    }

    #[test]
    fn content_over_a_directory_is_a_conflict() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), &[("d/f", "1")]);
        let content = BTreeMap::from([("d".to_string(), "x".to_string())]);
        let err = collect(&strings(&["d"]), &content, dir.path(), 0).unwrap_err();
        assert!(matches!(&err, CdError::Conflict { iso_path, .. } if iso_path == "d"));
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_are_followed_and_loops_refused() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), &[("real/f", "data")]);
        std::os::unix::fs::symlink(dir.path().join("real"), dir.path().join("link")).unwrap();
        std::os::unix::fs::symlink(dir.path().join("real/f"), dir.path().join("real/g")).unwrap();
        let root = collect(&strings(&["link"]), &BTreeMap::new(), dir.path(), 0).unwrap();
        assert_eq!(root.file_paths(), ["link/f", "link/g"]);
        std::os::unix::fs::symlink(dir.path().join("real"), dir.path().join("real/loop")).unwrap();
        let err = collect(&strings(&["real"]), &BTreeMap::new(), dir.path(), 0).unwrap_err();
        assert!(matches!(err, CdError::Unsupported { .. }), "{err}");
    }

    #[test]
    fn content_paths_are_normalised() {
        assert_eq!(content_path("a//./b/").unwrap(), ["a", "b"]);
        assert_eq!(content_path("a/../b").unwrap(), ["b"]);
        assert!(content_path("..").is_err());
        assert!(content_path("/").is_err());
        assert!(content_path("").is_err());
    }
}
