//! The CD's file tree as the user asked for it, before any ISO 9660 naming: what Packer
//! stages in its temporary folder, kept as a model (names, sizes, where the bytes come from)
//! so that nothing is copied before the image itself is written.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

/// Where a file's bytes come from when the image is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Source {
    /// A local file, streamed at write time (it may be a large installer), and the
    /// `cd_files[i]` entry that brought it, for error messages.
    Host { path: PathBuf, entry: Arc<str> },
    /// A `cd_content` value.
    Inline(Arc<str>),
}

/// A regular file on the CD.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FileNode {
    pub(crate) source: Source,
    pub(crate) len: u64,
    /// Unix seconds.
    pub(crate) mtime: i64,
    /// Whether the Rock Ridge mode gets execute bits (kept from the local file).
    pub(crate) executable: bool,
}

/// A directory on the CD; children keyed by their real (Rock Ridge) name.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct DirNode {
    pub(crate) children: BTreeMap<String, Node>,
    /// Unix seconds.
    pub(crate) mtime: i64,
}

/// Either kind of entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Node {
    File(FileNode),
    Dir(DirNode),
}

/// A file and a directory want the same place; `path` is slash-joined inside the CD.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Conflict {
    pub(crate) path: String,
    pub(crate) reason: &'static str,
}

impl DirNode {
    /// An empty directory with this time.
    pub(crate) fn new(mtime: i64) -> Self {
        Self {
            children: BTreeMap::new(),
            mtime,
        }
    }

    /// Creates `path` and its parents as directories (merging with existing ones, as Go's
    /// `MkdirAll` does); new directories get `mtime`.
    pub(crate) fn ensure_dir(
        &mut self,
        path: &[String],
        mtime: i64,
    ) -> Result<&mut DirNode, Conflict> {
        let mut dir = self;
        for (depth, name) in path.iter().enumerate() {
            let node = dir
                .children
                .entry(name.clone())
                .or_insert_with(|| Node::Dir(DirNode::new(mtime)));
            dir = match node {
                Node::Dir(d) => d,
                Node::File(_) => {
                    return Err(Conflict {
                        path: path.get(..=depth).unwrap_or(path).join("/"),
                        reason: "is already a file",
                    })
                }
            };
        }
        Ok(dir)
    }

    /// Puts a file at `path` (parents created with `mtime`), replacing an earlier file there,
    /// as a later copy or a `cd_content` value does in Packer's staging folder.
    pub(crate) fn put_file(
        &mut self,
        path: &[String],
        file: FileNode,
        mtime: i64,
    ) -> Result<(), Conflict> {
        let Some((name, parents)) = path.split_last() else {
            return Err(Conflict {
                path: String::new(),
                reason: "is the root directory",
            });
        };
        let dir = self.ensure_dir(parents, mtime)?;
        if let Some(Node::Dir(_)) = dir.children.get(name) {
            return Err(Conflict {
                path: path.join("/"),
                reason: "is already a directory",
            });
        }
        dir.children.insert(name.clone(), Node::File(file));
        Ok(())
    }

    /// Slash-joined paths of every file, sorted (what [`crate::BuiltIso`]
    /// lists).
    pub(crate) fn file_paths(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.collect_paths("", &mut out);
        out.sort();
        out
    }

    fn collect_paths(&self, prefix: &str, out: &mut Vec<String>) {
        for (name, node) in &self.children {
            let path = if prefix.is_empty() {
                name.clone()
            } else {
                format!("{prefix}/{name}")
            };
            match node {
                Node::File(_) => out.push(path),
                Node::Dir(d) => d.collect_paths(&path, out),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(content: &str) -> FileNode {
        FileNode {
            source: Source::Inline(content.into()),
            len: content.len() as u64,
            mtime: 0,
            executable: false,
        }
    }

    fn p(s: &str) -> Vec<String> {
        s.split('/').map(String::from).collect()
    }

    #[test]
    fn later_files_replace_earlier_ones_and_dirs_merge() {
        let mut root = DirNode::new(0);
        root.put_file(&p("a/b"), file("1"), 0).unwrap();
        root.put_file(&p("a/c"), file("2"), 0).unwrap();
        root.put_file(&p("a/b"), file("3"), 0).unwrap();
        root.ensure_dir(&p("a/d"), 0).unwrap();
        assert_eq!(root.file_paths(), ["a/b", "a/c"]);
        let Some(Node::Dir(a)) = root.children.get("a") else {
            panic!()
        };
        assert_eq!(a.children.get("b"), Some(&Node::File(file("3"))));
        assert!(matches!(a.children.get("d"), Some(Node::Dir(_))));
    }

    #[test]
    fn file_and_directory_conflicts_are_reported_with_the_path() {
        let mut root = DirNode::new(0);
        root.put_file(&p("a/b"), file("1"), 0).unwrap();
        assert_eq!(
            root.put_file(&p("a"), file("x"), 0).unwrap_err(),
            Conflict {
                path: "a".into(),
                reason: "is already a directory"
            }
        );
        assert_eq!(
            root.put_file(&p("a/b/c"), file("x"), 0).unwrap_err(),
            Conflict {
                path: "a/b".into(),
                reason: "is already a file"
            }
        );
        assert_eq!(
            root.ensure_dir(&p("a/b"), 0).unwrap_err(),
            Conflict {
                path: "a/b".into(),
                reason: "is already a file"
            }
        );
        assert!(root.put_file(&[], file("x"), 0).is_err());
    }
}
