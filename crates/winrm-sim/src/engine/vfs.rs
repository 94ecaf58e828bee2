//! The simulated machine's files: an in-memory map keyed by normalised, case-insensitive
//! Windows paths. Enough for uploads, scripts that run uploaded scripts, downloads and cleanup.

use std::collections::{BTreeMap, BTreeSet};

use sha2::{Digest, Sha256};

/// A file on the simulated machine.
#[derive(Debug, Clone)]
pub struct File {
    /// The path as first written (normalised separators, original case).
    pub path: String,
    /// Contents.
    pub data: Vec<u8>,
}

/// The files and directories.
#[derive(Debug, Default)]
pub struct Vfs {
    files: BTreeMap<String, File>,
    dirs: BTreeSet<String>,
}

/// `C:/a/./b/../c` → `C:\a\c`; relative paths are taken from `cwd`; quotes are stripped.
pub fn normalize(path: &str, cwd: &str) -> String {
    let p = path
        .trim()
        .trim_matches('"')
        .trim_matches('\'')
        .replace('/', "\\");
    let absolute = p.len() >= 2 && p.as_bytes().get(1) == Some(&b':');
    let joined = if absolute {
        p
    } else if let Some(rest) = p.strip_prefix('\\') {
        format!("C:\\{rest}")
    } else {
        format!("{}\\{p}", cwd.trim_end_matches('\\'))
    };
    let mut parts: Vec<&str> = Vec::new();
    let mut drive = "C:".to_string();
    for (i, part) in joined.split('\\').enumerate() {
        if i == 0 {
            drive = part.to_ascii_uppercase();
            continue;
        }
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    if parts.is_empty() {
        format!("{drive}\\")
    } else {
        format!("{drive}\\{}", parts.join("\\"))
    }
}

fn key(path: &str) -> String {
    path.to_lowercase()
}

fn parent(path: &str) -> Option<&str> {
    let (p, _) = path.rsplit_once('\\')?;
    (!p.is_empty()).then_some(p)
}

impl Vfs {
    /// A machine with the usual directories.
    pub fn with_defaults(user: &str) -> Self {
        let mut v = Self::default();
        for d in [
            "C:\\Windows\\Temp".to_string(),
            format!("C:\\Users\\{user}\\AppData\\Local\\Temp"),
        ] {
            v.mkdir_all(&d);
        }
        v
    }

    /// Creates `dir` and its parents.
    pub fn mkdir_all(&mut self, dir: &str) {
        let mut cur = Some(dir.trim_end_matches('\\'));
        while let Some(d) = cur {
            if d.len() <= 2 {
                break;
            }
            self.dirs.insert(key(d));
            cur = parent(d);
        }
    }

    /// True for an existing directory (drive roots always exist).
    pub fn is_dir(&self, path: &str) -> bool {
        let p = path.trim_end_matches('\\');
        p.len() <= 2 || self.dirs.contains(&key(p))
    }

    /// The file at `path`.
    pub fn get(&self, path: &str) -> Option<&File> {
        self.files.get(&key(path))
    }

    /// True when a file or directory exists there.
    pub fn exists(&self, path: &str) -> bool {
        self.get(path).is_some() || self.is_dir(path)
    }

    /// Replaces (or creates) a file, creating its directory like our upload script does.
    pub fn write(&mut self, path: &str, data: Vec<u8>) {
        if let Some(p) = parent(path) {
            self.mkdir_all(p);
        }
        self.files.insert(
            key(path),
            File {
                path: path.to_string(),
                data,
            },
        );
    }

    /// Appends to a file (creating it).
    pub fn append(&mut self, path: &str, data: &[u8]) {
        match self.files.get_mut(&key(path)) {
            Some(f) => f.data.extend_from_slice(data),
            None => self.write(path, data.to_vec()),
        }
    }

    /// Removes a file or an (empty or not) directory tree; true when something was there.
    pub fn remove(&mut self, path: &str) -> bool {
        let k = key(path.trim_end_matches('\\'));
        let mut removed = self.files.remove(&k).is_some();
        if self.dirs.remove(&k) {
            removed = true;
            let prefix = format!("{k}\\");
            self.files.retain(|f, _| !f.starts_with(&prefix));
            self.dirs.retain(|d| !d.starts_with(&prefix));
        }
        removed
    }

    /// Every file, for the state view.
    pub fn files(&self) -> impl Iterator<Item = &File> {
        self.files.values()
    }
}

/// Lower-case hex SHA-256.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_normalise() {
        assert_eq!(
            normalize("c:/Windows/Temp/x.ps1", "C:\\"),
            "C:\\Windows\\Temp\\x.ps1"
        );
        assert_eq!(normalize("'C:\\a b\\c'", "C:\\"), "C:\\a b\\c");
        assert_eq!(
            normalize("x\\..\\y.txt", "C:\\Users\\u"),
            "C:\\Users\\u\\y.txt"
        );
        assert_eq!(normalize("\\tmp", "D:\\"), "C:\\tmp");
        let mut v = Vfs::default();
        v.write("C:\\A\\b.txt", b"1".to_vec());
        assert!(v.get("c:\\a\\B.TXT").is_some());
        assert!(v.is_dir("C:\\a"));
        assert!(v.remove("C:\\a"));
        assert!(v.get("C:\\A\\b.txt").is_none());
    }
}
