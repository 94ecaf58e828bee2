//! The `cd_files` / `cd_content` / `cd_label` image: the public entry point and the thin
//! blocking driver that streams file contents into the planned layout.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::SystemTime;

use crate::collect::{collect, unix_seconds};
use crate::error::CdError;
use crate::iso::encode::SECTOR;
use crate::iso::layout::{check_label, plan, Options, Plan, MAX_EXTENT};
use crate::tree::Source;

/// Packer's `CDConfig` after template decoding: what goes on the CD and under which label.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CdSpec {
    /// `cd_files`: paths or Go globs, relative ones against `base_dir`; a directory is added
    /// with its name unless the entry ends with `/` (then its contents).
    pub files: Vec<String>,
    /// `cd_content`: path inside the CD → file content; wins over `cd_files`.
    pub content: BTreeMap<String, String>,
    /// `cd_label`: the volume label, case kept; empty means Packer's default `packer`.
    pub label: String,
    /// Where relative `cd_files` entries start (Packer uses its working directory).
    pub base_dir: PathBuf,
}

impl CdSpec {
    /// Whether Packer would skip the CD altogether (no `cd_files`, no `cd_content`); the
    /// builder checks this before calling [`build_iso`], which refuses an empty spec.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty() && self.content.is_empty()
    }
}

/// A finished image, for the step that uploads it and later deletes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuiltIso {
    /// The image (`packer….iso` in the output directory); the caller removes it.
    pub path: PathBuf,
    /// Its size in bytes (a multiple of 2048).
    pub size: u64,
    /// Every file on the CD, `/`-separated, in name order, for the build log.
    pub files: Vec<String>,
    /// The external tool that made it, when our writer could not.
    pub made_by: Option<&'static str>,
}

/// Builds the ISO 9660 image (Joliet + Rock Ridge) Packer's `StepCreateCD` would make,
/// without any external tool, streaming local files so that large ones never sit in memory.
///
/// The work runs on tokio's blocking pool; dropping the future stops it at the next chunk
/// boundary and removes the partial image.
pub async fn build_iso(spec: &CdSpec, out_dir: &Path) -> Result<BuiltIso, CdError> {
    build_iso_with(spec, out_dir, unix_seconds(SystemTime::now()), MAX_EXTENT).await
}

/// [`build_iso`] with the clock and the per-record extent limit as inputs (tests use a small
/// limit to exercise multi-extent files without writing 4 GiB).
pub(crate) async fn build_iso_with(
    spec: &CdSpec,
    out_dir: &Path,
    now: i64,
    max_extent: u32,
) -> Result<BuiltIso, CdError> {
    let spec = spec.clone();
    let out_dir = out_dir.to_path_buf();
    let cancel = Arc::new(AtomicBool::new(false));
    let guard = CancelOnDrop(cancel.clone());
    let result = tokio::task::spawn_blocking(move || {
        build_blocking(&spec, &out_dir, now, max_extent, &cancel)
    })
    .await
    .map_err(|e| CdError::Task(e.to_string()))?;
    drop(guard);
    result
}

/// Tells the blocking writer to stop when the async caller goes away.
struct CancelOnDrop(Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

fn build_blocking(
    spec: &CdSpec,
    out_dir: &Path,
    now: i64,
    max_extent: u32,
    cancel: &AtomicBool,
) -> Result<BuiltIso, CdError> {
    if spec.is_empty() {
        return Err(CdError::Empty);
    }
    let label = if spec.label.is_empty() {
        "packer"
    } else {
        spec.label.as_str()
    };
    check_label(label)?;
    let root = collect(&spec.files, &spec.content, &spec.base_dir, now)?;
    let files = root.file_paths();
    match write_in_process(&root, label, out_dir, now, max_extent, cancel) {
        Ok((path, size)) => {
            tracing::info!(path = %path.display(), size, files = files.len(), label, "CD image written");
            Ok(BuiltIso {
                path,
                size,
                files,
                made_by: None,
            })
        }
        Err(why @ (CdError::TooLarge(_) | CdError::Internal(_))) => {
            let work = tempfile::Builder::new()
                .prefix("packer-cd-staging")
                .tempdir_in(out_dir)
                .map_err(|source| CdError::Output {
                    path: out_dir.to_owned(),
                    source,
                })?;
            let path = work.path().join("cd.iso");
            let tool = crate::external::make(&root, label, work.path(), &path, &why, cancel)?;
            let dest = out_dir.join(format!("packer-{tool}.iso"));
            std::fs::rename(&path, &dest).map_err(|source| CdError::Output {
                path: dest.clone(),
                source,
            })?;
            let size = std::fs::metadata(&dest)
                .map_err(|source| CdError::Output {
                    path: dest.clone(),
                    source,
                })?
                .len();
            Ok(BuiltIso {
                path: dest,
                size,
                files,
                made_by: Some(tool),
            })
        }
        Err(e) => Err(e),
    }
}

/// Lays out and writes the image ourselves; returns where it is and its size.
fn write_in_process(
    root: &crate::tree::DirNode,
    label: &str,
    out_dir: &Path,
    now: i64,
    max_extent: u32,
    cancel: &AtomicBool,
) -> Result<(PathBuf, u64), CdError> {
    let plan = plan(
        root,
        &Options {
            label,
            now,
            max_extent,
        },
    )?;
    let output_error = |source| CdError::Output {
        path: out_dir.to_owned(),
        source,
    };
    let mut tmp = tempfile::Builder::new()
        .prefix("packer")
        .suffix(".iso")
        .tempfile_in(out_dir)
        .map_err(output_error)?;
    let size = write_image(&plan, tmp.as_file_mut(), cancel).map_err(|e| match e {
        WriteError::Output(source) => CdError::Output {
            path: tmp.path().to_owned(),
            source,
        },
        WriteError::Cd(e) => e,
    })?;
    let (_, path) = tmp.keep().map_err(|e| output_error(e.error))?;
    Ok((path, size))
}

/// A write failure on the image itself, or a problem with a source.
enum WriteError {
    Output(io::Error),
    Cd(CdError),
}

impl From<io::Error> for WriteError {
    fn from(e: io::Error) -> Self {
        Self::Output(e)
    }
}

/// Copy buffer: large enough for throughput, small enough to look at the cancel flag often.
const BUF: usize = 1 << 20;

/// Writes `plan`'s head, then each file at its sector, zero-padded; returns the image size.
fn write_image(plan: &Plan<'_>, out: &mut File, cancel: &AtomicBool) -> Result<u64, WriteError> {
    out.write_all(&plan.head)?;
    let mut pos = plan.head.len() as u64;
    for placed in &plan.files {
        if pos != u64::from(placed.sector) * SECTOR as u64 {
            return Err(WriteError::Cd(CdError::Internal("file data out of place")));
        }
        let len = placed.file.len;
        match &placed.file.source {
            Source::Inline(text) => out.write_all(text.as_bytes())?,
            Source::Host { path, entry } => copy_host_file(path, entry, len, out, cancel)?,
        }
        pos += len;
        let pad = (SECTOR as u64 - pos % SECTOR as u64) % SECTOR as u64;
        out.write_all(&vec![0u8; pad as usize])?;
        pos += pad;
    }
    if pos != u64::from(plan.total_sectors) * SECTOR as u64 {
        return Err(WriteError::Cd(CdError::Internal(
            "image size differs from the layout",
        )));
    }
    out.flush()?;
    Ok(pos)
}

/// Streams exactly `len` bytes of `path` (as measured when the layout was made) into `out`,
/// failing if the file is now shorter or longer.
fn copy_host_file(
    path: &Path,
    entry: &str,
    len: u64,
    out: &mut File,
    cancel: &AtomicBool,
) -> Result<(), WriteError> {
    let source_error = |source| {
        WriteError::Cd(CdError::Source {
            entry: entry.to_owned(),
            path: path.to_owned(),
            source,
        })
    };
    let changed = || {
        WriteError::Cd(CdError::SourceChanged {
            path: path.to_owned(),
            expected: len,
        })
    };
    let mut src = File::open(path).map_err(source_error)?;
    let mut buf = vec![0u8; BUF.min(usize::try_from(len).unwrap_or(BUF)).max(1)];
    let mut remaining = len;
    while remaining > 0 {
        if cancel.load(Ordering::Relaxed) {
            return Err(WriteError::Output(io::Error::new(
                io::ErrorKind::Interrupted,
                "the build was cancelled",
            )));
        }
        let want = buf
            .len()
            .min(usize::try_from(remaining).unwrap_or(usize::MAX));
        let chunk = buf.get_mut(..want).unwrap_or_default();
        let n = match src.read(chunk) {
            Ok(0) => return Err(changed()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(source_error(e)),
        };
        out.write_all(chunk.get(..n).unwrap_or_default())?;
        remaining -= n as u64;
    }
    let mut probe = [0u8; 1];
    if src.read(&mut probe).map_err(source_error)? != 0 {
        return Err(changed());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    fn xorriso_extract(iso: &Path, read_fs: &str, to: &Path) -> String {
        let out = Command::new("xorriso")
            .args(["-read_fs", read_fs, "-osirrox", "on", "-indev"])
            .arg(iso)
            .args(["-extract", "/"])
            .arg(to)
            .output()
            .expect("xorriso is needed for this test");
        let text = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{text}");
        text
    }

    /// Files above the per-record limit get several directory records (multi-extent); with a
    /// 4 KiB limit a 10000-byte file needs three, and xorriso must join them back together in
    /// both trees.
    #[tokio::test]
    async fn multi_extent_files_read_back_whole() {
        let src = tempfile::tempdir().unwrap();
        let out = tempfile::tempdir().unwrap();
        let data: Vec<u8> = (0..10_000u32).map(|i| (i % 253) as u8).collect();
        std::fs::write(src.path().join("big.bin"), &data).unwrap();
        let spec = CdSpec {
            files: vec!["big.bin".into()],
            content: BTreeMap::from([("after".to_string(), "tail".to_string())]),
            label: "cidata".into(),
            base_dir: src.path().to_owned(),
        };
        let iso = build_iso_with(&spec, out.path(), 0, 4096).await.unwrap();
        let listing = Command::new("isoinfo")
            .arg("-l")
            .arg("-i")
            .arg(&iso.path)
            .output()
            .unwrap();
        let listing = String::from_utf8_lossy(&listing.stdout);
        assert_eq!(listing.matches("BIG.BIN;1").count(), 3, "{listing}");
        for read_fs in ["any", "norock", "ecma119"] {
            let dir = tempfile::tempdir().unwrap();
            let log = xorriso_extract(&iso.path, read_fs, &dir.path().join("x"));
            assert!(!log.contains("WARNING") && !log.contains("SORRY"), "{log}");
            let name = if read_fs == "ecma119" {
                "BIG.BIN"
            } else {
                "big.bin"
            };
            assert_eq!(
                std::fs::read(dir.path().join("x").join(name)).unwrap(),
                data,
                "{read_fs}"
            );
        }
    }

    /// When our writer gives up (here: an internal error forced by an impossible extent limit),
    /// an external tool makes the CD from the same collected tree: the same files, patterns
    /// and `cd_content` as the built-in writer would have put there.
    #[tokio::test]
    async fn the_external_tool_gets_exactly_the_collected_tree() {
        let src = tempfile::tempdir().unwrap();
        let out = tempfile::tempdir().unwrap();
        std::fs::write(src.path().join("ks.cfg"), "ks").unwrap();
        std::fs::write(src.path().join("other.txt"), "o").unwrap();
        std::fs::create_dir_all(src.path().join("dir/sub")).unwrap();
        std::fs::write(src.path().join("dir/sub/x"), "x").unwrap();
        let spec = CdSpec {
            files: vec!["*.cfg".into(), "dir".into()],
            content: BTreeMap::from([("meta/user-data".to_string(), "#cloud-config".to_string())]),
            label: "OEMDRV".into(),
            base_dir: src.path().to_owned(),
        };
        let iso = build_iso_with(&spec, out.path(), 0, 0).await.unwrap();
        assert_eq!(iso.made_by, Some("xorriso"));
        assert_eq!(iso.files, ["dir/sub/x", "ks.cfg", "meta/user-data"]);
        let dir = tempfile::tempdir().unwrap();
        xorriso_extract(&iso.path, "any", &dir.path().join("x"));
        let read = |p: &str| std::fs::read_to_string(dir.path().join("x").join(p)).unwrap();
        assert_eq!(read("ks.cfg"), "ks");
        assert_eq!(read("dir/sub/x"), "x");
        assert_eq!(read("meta/user-data"), "#cloud-config");
        assert!(!dir.path().join("x/other.txt").exists());
        // Nothing but the image is left in the output directory.
        let left: Vec<_> = std::fs::read_dir(out.path()).unwrap().flatten().collect();
        assert_eq!(left.len(), 1, "{left:?}");
    }

    /// A write that fails half way (here: cancelled) removes the partial image.
    #[test]
    fn a_failed_write_leaves_no_image() {
        let src = tempfile::tempdir().unwrap();
        let out = tempfile::tempdir().unwrap();
        std::fs::write(src.path().join("f"), b"data").unwrap();
        let spec = CdSpec {
            files: vec!["f".into()],
            label: "cidata".into(),
            base_dir: src.path().to_owned(),
            ..CdSpec::default()
        };
        let cancelled = AtomicBool::new(true);
        let err = build_blocking(&spec, out.path(), 0, MAX_EXTENT, &cancelled).unwrap_err();
        assert!(matches!(err, CdError::Output { .. }), "{err}");
        assert_eq!(std::fs::read_dir(out.path()).unwrap().count(), 0);
        let never = AtomicBool::new(false);
        assert!(build_blocking(&spec, out.path(), 0, MAX_EXTENT, &never).is_ok());
        assert_eq!(std::fs::read_dir(out.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_source_that_changed_size_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"12345").unwrap();
        let mut out = tempfile::tempfile().unwrap();
        let never = AtomicBool::new(false);
        for len in [6, 4] {
            match copy_host_file(&path, "cd_files[0]", len, &mut out, &never) {
                Err(WriteError::Cd(CdError::SourceChanged { expected, .. })) => {
                    assert_eq!(expected, len)
                }
                _ => panic!("a {len}-byte expectation of a 5-byte file must fail"),
            }
        }
        assert!(copy_host_file(&path, "cd_files[0]", 5, &mut out, &never).is_ok());
        let cancelled = AtomicBool::new(true);
        assert!(matches!(
            copy_host_file(&path, "cd_files[0]", 5, &mut out, &cancelled),
            Err(WriteError::Output(e)) if e.kind() == io::ErrorKind::Interrupted
        ));
    }
}
