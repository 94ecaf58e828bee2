//! What `upload_dir` sends: a walk of the local source turned into a flat list of
//! enter-directory / file / leave-directory steps, with Packer's trailing-slash rule and the
//! exclude patterns applied. Pure with respect to the transfer: scp and sftp both replay it.
//!
//! Rules (packer-plugin-sdk `packer.Communicator.UploadDir` docs, ssh communicator):
//! - `src` without a trailing `/` uploads the directory itself (`dst/<basename>/...`);
//!   with a trailing `/` it uploads the contents into `dst`.
//! - Entries are sorted by name. Symlinks are followed (Go's scp path does the same for
//!   directories and files); a symlink cycle is an error rather than an endless walk.
//! - Modes are the permission bits (`& 0o777`), as Go's `FileMode.Perm()`.
//! - Excludes are glob patterns matched against the path relative to `src` with `/`
//!   separators (`*` does not cross `/`, `**` does); an excluded directory is skipped whole.
//!   The Go SSH communicator ignores its `exclude` argument; we honour it.

use std::collections::HashSet;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};

use crate::error::SshError;

/// One step of a directory upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TreeEntry {
    /// Create (or reuse) directory `name` inside the current one and enter it.
    EnterDir {
        name: String,
        mode: u32,
        rel: String,
    },
    /// Send a file into the current directory.
    File {
        name: String,
        path: PathBuf,
        mode: u32,
        rel: String,
    },
    /// Go back to the parent directory.
    LeaveDir,
}

/// Compiled exclude patterns.
#[derive(Debug, Clone)]
pub(crate) struct Excludes(GlobSet);

impl Excludes {
    /// Compiles the patterns; a malformed one is a configuration error naming it.
    pub(crate) fn new(patterns: &[String]) -> Result<Self, SshError> {
        let mut set = GlobSetBuilder::new();
        for pattern in patterns {
            let trimmed = pattern.trim_start_matches("./");
            let glob = GlobBuilder::new(trimmed)
                .literal_separator(true)
                .backslash_escape(true)
                .build()
                .map_err(|e| SshError::Config(format!("exclude pattern {pattern:?}: {e}")))?;
            set.add(glob);
        }
        set.build()
            .map(Self)
            .map_err(|e| SshError::Config(format!("exclude patterns: {e}")))
    }

    /// Whether `rel` (relative to the source, `/`-separated) is excluded.
    pub(crate) fn matches(&self, rel: &str) -> bool {
        !rel.is_empty() && self.0.is_match(rel)
    }
}

/// Walks `src` into upload steps. Blocking (std::fs): call it from `spawn_blocking`.
pub(crate) fn plan(src: &str, excludes: &Excludes) -> Result<Vec<TreeEntry>, SshError> {
    let contents_only = src.ends_with('/');
    let root = Path::new(src);
    let meta = std::fs::metadata(root).map_err(|e| local("stat", root, e))?;
    if !meta.is_dir() {
        return Err(local(
            "upload_dir source",
            root,
            std::io::Error::new(std::io::ErrorKind::NotADirectory, "not a directory"),
        ));
    }
    let mut out = Vec::new();
    let mut ancestors = HashSet::new();
    let canonical = std::fs::canonicalize(root).map_err(|e| local("resolve", root, e))?;
    ancestors.insert(canonical);
    if contents_only {
        walk(root, "", excludes, &mut ancestors, &mut out)?;
    } else {
        let name = file_name(root)?;
        out.push(TreeEntry::EnterDir {
            name,
            mode: meta.permissions().mode() & 0o777,
            rel: String::new(),
        });
        walk(root, "", excludes, &mut ancestors, &mut out)?;
        out.push(TreeEntry::LeaveDir);
    }
    Ok(out)
}

fn walk(
    dir: &Path,
    prefix: &str,
    excludes: &Excludes,
    ancestors: &mut HashSet<PathBuf>,
    out: &mut Vec<TreeEntry>,
) -> Result<(), SshError> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| local("read directory", dir, e))?
        .collect::<Result<_, _>>()
        .map_err(|e| local("read directory", dir, e))?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let name = file_name(&path)?;
        let rel = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}/{name}")
        };
        if excludes.matches(&rel) {
            tracing::debug!(target: "ssh", %rel, "excluded from upload");
            continue;
        }
        let meta = std::fs::metadata(&path).map_err(|e| local("stat", &path, e))?;
        let mode = meta.permissions().mode() & 0o777;
        if meta.is_dir() {
            let canonical = std::fs::canonicalize(&path).map_err(|e| local("resolve", &path, e))?;
            if !ancestors.insert(canonical.clone()) {
                return Err(local(
                    "upload_dir",
                    &path,
                    std::io::Error::other("symlink cycle: this directory contains itself"),
                ));
            }
            out.push(TreeEntry::EnterDir {
                name,
                mode,
                rel: rel.clone(),
            });
            walk(&path, &rel, excludes, ancestors, out)?;
            out.push(TreeEntry::LeaveDir);
            ancestors.remove(&canonical);
        } else if meta.is_file() {
            out.push(TreeEntry::File {
                name,
                path,
                mode,
                rel,
            });
        } else {
            tracing::warn!(target: "ssh", path = %path.display(), "skipping special file (not a regular file or directory)");
        }
    }
    Ok(())
}

/// The last component as UTF-8 without newlines (scp headers are lines of text).
fn file_name(path: &Path) -> Result<String, SshError> {
    let bad = |why: &str| {
        local(
            "upload_dir",
            path,
            std::io::Error::new(std::io::ErrorKind::InvalidData, why.to_string()),
        )
    };
    let name = match path.file_name() {
        Some(n) => n,
        // "." or ".." or "/": use the resolved directory's name.
        None => {
            let canonical = std::fs::canonicalize(path).map_err(|e| local("resolve", path, e))?;
            return canonical
                .file_name()
                .and_then(|n| n.to_str())
                .map(String::from)
                .ok_or_else(|| bad("the source has no name"));
        }
    };
    let name = name.to_str().ok_or_else(|| bad("file name is not UTF-8"))?;
    if name.contains('\n') {
        return Err(bad("file name contains a newline"));
    }
    Ok(name.to_string())
}

fn local(op: &'static str, path: &Path, source: std::io::Error) -> SshError {
    SshError::LocalIo {
        op,
        path: path.to_path_buf(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn tree() -> tempfile::TempDir {
        let t = tempfile::tempdir().unwrap();
        let src = t.path().join("src");
        fs::create_dir_all(src.join("sub/deep")).unwrap();
        fs::create_dir_all(src.join("skipme")).unwrap();
        fs::write(src.join("a.txt"), "a").unwrap();
        fs::write(src.join("b.log"), "b").unwrap();
        fs::write(src.join("sub/c.txt"), "c").unwrap();
        fs::write(src.join("sub/deep/d.log"), "d").unwrap();
        fs::write(src.join("skipme/e"), "e").unwrap();
        fs::set_permissions(src.join("a.txt"), fs::Permissions::from_mode(0o751)).unwrap();
        t
    }

    fn names(plan: &[TreeEntry]) -> Vec<String> {
        plan.iter()
            .map(|e| match e {
                TreeEntry::EnterDir { name, .. } => format!("D {name}"),
                TreeEntry::File { rel, .. } => format!("F {rel}"),
                TreeEntry::LeaveDir => "E".into(),
            })
            .collect()
    }

    #[test]
    fn without_trailing_slash_the_directory_itself_is_sent() {
        let t = tree();
        let src = format!("{}/src", t.path().display());
        let p = plan(&src, &Excludes::new(&[]).unwrap()).unwrap();
        assert_eq!(
            names(&p),
            [
                "D src",
                "F a.txt",
                "F b.log",
                "D skipme",
                "F skipme/e",
                "E",
                "D sub",
                "F sub/c.txt",
                "D deep",
                "F sub/deep/d.log",
                "E",
                "E",
                "E"
            ]
        );
        assert!(p
            .iter()
            .any(|e| matches!(e, TreeEntry::File { rel, mode: 0o751, .. } if rel == "a.txt")));
    }

    #[test]
    fn with_trailing_slash_only_the_contents_are_sent() {
        let t = tree();
        let src = format!("{}/src/", t.path().display());
        let p = plan(&src, &Excludes::new(&[]).unwrap()).unwrap();
        assert_eq!(names(&p).first().map(String::as_str), Some("F a.txt"));
        assert_eq!(names(&p).last().map(String::as_str), Some("E"));
        assert_eq!(
            p.iter()
                .filter(|e| matches!(e, TreeEntry::LeaveDir))
                .count(),
            3
        );
    }

    #[test]
    fn excludes_match_relative_paths_and_prune_directories() {
        let t = tree();
        let src = format!("{}/src/", t.path().display());
        let ex = Excludes::new(&["*.log".into(), "skipme".into(), "sub/deep/**".into()]).unwrap();
        let p = plan(&src, &ex).unwrap();
        // "*.log" does not cross "/" (like Go's filepath.Match): sub/deep/d.log is kept by it,
        // but "sub/deep/**" removes it.
        assert_eq!(
            names(&p),
            ["F a.txt", "D sub", "F sub/c.txt", "D deep", "E", "E"]
        );
        let ex = Excludes::new(&["**/*.log".into()]).unwrap();
        let p = plan(&src, &ex).unwrap();
        assert!(!names(&p).iter().any(|n| n.ends_with(".log")));
    }

    #[test]
    fn bad_patterns_and_sources_are_errors() {
        assert!(matches!(
            Excludes::new(&["[".into()]),
            Err(SshError::Config(_))
        ));
        let t = tree();
        let file = format!("{}/src/a.txt", t.path().display());
        assert!(matches!(
            plan(&file, &Excludes::new(&[]).unwrap()),
            Err(SshError::LocalIo { .. })
        ));
        assert!(plan("/definitely/not/here", &Excludes::new(&[]).unwrap()).is_err());
    }

    #[test]
    fn symlink_cycles_are_reported() {
        let t = tree();
        let src = t.path().join("src");
        std::os::unix::fs::symlink(&src, src.join("sub/loop")).unwrap();
        let err = plan(&format!("{}/", src.display()), &Excludes::new(&[]).unwrap()).unwrap_err();
        assert!(err.to_string().contains("cycle"), "{err}");
    }
}
