//! The cd_files / cd_content CD, labelled `cd_label`: written in-process by the `cdrom` crate
//! (Packer's `StepCreateCD` staging rules, no external tool), uploaded, and attached to the VM as
//! a CD-ROM; the image is in the ledger from before its creation and deleted at cleanup.
//!
//! Only when the in-process writer cannot make the image (an ISO 9660 limit, an internal
//! error) does the step fall back to the tools Packer's SDK uses, xorriso, mkisofs or
//! genisoimage, on a simpler staging (files at the root, directories with their structure,
//! `*`/`?` patterns in the last path component, cd_content at its relative path).

use std::path::{Component, Path, PathBuf};
use std::process::Stdio;

use prism::models::ImageType;

use super::upload::{upload_local_image, LocalImage};
use super::Build;
use crate::error::BuildError;
use crate::ledger::Kind;

/// Shown when no ISO tool exists.
pub(crate) const NO_TOOL: &str = "cd_files / cd_content: the built-in ISO writer could not make this CD, and no xorriso, mkisofs or genisoimage was found to try instead";

/// The ISO tools, in preference order, with how each is told to make a Rock Ridge + Joliet ISO.
const TOOLS: &[&str] = &["xorriso", "mkisofs", "genisoimage"];

/// The first ISO tool on PATH.
pub(crate) fn iso_tool() -> Option<(&'static str, PathBuf)> {
    let path = std::env::var_os("PATH")?;
    TOOLS.iter().find_map(|name| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
            .map(|p| (*name, p))
    })
}

fn tool_args(tool: &str, label: &str, source: &Path, dest: &Path) -> Vec<std::ffi::OsString> {
    let mut args: Vec<std::ffi::OsString> = Vec::new();
    if tool == "xorriso" {
        args.extend(["-as".into(), "genisoimage".into()]);
    }
    args.extend([
        "-rock".into(),
        "-joliet".into(),
        "-volid".into(),
        label.into(),
        "-output".into(),
        dest.as_os_str().to_owned(),
        source.as_os_str().to_owned(),
    ]);
    args
}

/// `*` and `?` matching of one file name (no path separators).
pub(crate) fn wildcard(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    let (mut pi, mut ni) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ni));
                pi += 1;
            }
            Some(c) if *c == '?' || Some(c) == n.get(ni) => {
                pi += 1;
                ni += 1;
            }
            _ => match star {
                Some((sp, sn)) => {
                    pi = sp + 1;
                    ni = sn + 1;
                    star = Some((sp, sn + 1));
                }
                None => return false,
            },
        }
    }
    p.get(pi..)
        .is_some_and(|rest| rest.iter().all(|c| *c == '*'))
}

fn io_err(what: &str, path: &Path, source: std::io::Error) -> BuildError {
    BuildError::Io {
        what: what.to_string(),
        path: path.to_path_buf(),
        source,
    }
}

/// The paths one cd_files entry stands for.
fn expand(entry: &str) -> Result<Vec<PathBuf>, BuildError> {
    let path = Path::new(entry);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if !name.contains(['*', '?']) {
        return Ok(vec![path.to_path_buf()]);
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut out: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map_err(|e| io_err("listing cd_files pattern directory", &dir, e))?
        .filter_map(Result::ok)
        .filter(|e| wildcard(&name, &e.file_name().to_string_lossy()))
        .map(|e| e.path())
        .collect();
    out.sort();
    Ok(out)
}

fn copy_tree(src: &Path, dst: &Path) -> Result<(), BuildError> {
    let meta = std::fs::metadata(src).map_err(|e| io_err("reading cd_files entry", src, e))?;
    if meta.is_dir() {
        std::fs::create_dir_all(dst).map_err(|e| io_err("creating CD directory", dst, e))?;
        let mut entries: Vec<_> = std::fs::read_dir(src)
            .map_err(|e| io_err("listing cd_files directory", src, e))?
            .filter_map(Result::ok)
            .collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            copy_tree(&e.path(), &dst.join(e.file_name()))?;
        }
        Ok(())
    } else {
        std::fs::copy(src, dst)
            .map(drop)
            .map_err(|e| io_err("copying cd_files entry", src, e))
    }
}

/// Fills `root` with the CD's contents; returns how many top-level entries were added.
pub(crate) fn stage(
    root: &Path,
    files: &[String],
    content: &std::collections::BTreeMap<String, String>,
) -> Result<usize, BuildError> {
    let mut count = 0;
    for entry in files {
        let paths = expand(entry)?;
        if paths.is_empty() {
            return Err(BuildError::unexpected(
                "creating the CD",
                format!("cd_files pattern {entry:?} matches no file"),
            ));
        }
        for p in paths {
            let name = p.file_name().ok_or_else(|| {
                BuildError::unexpected(
                    "creating the CD",
                    format!("cd_files entry {entry:?} has no file name"),
                )
            })?;
            copy_tree(&p, &root.join(name))?;
            count += 1;
        }
    }
    for (rel, text) in content {
        let rel_path = Path::new(rel);
        let safe = rel_path
            .components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
        if !safe || rel.is_empty() {
            return Err(BuildError::unexpected(
                "creating the CD",
                format!("cd_content key {rel:?} must be a relative path inside the CD"),
            ));
        }
        let dest = root.join(rel_path);
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| io_err("creating CD directory", parent, e))?;
        }
        std::fs::write(&dest, text).map_err(|e| io_err("writing cd_content", &dest, e))?;
        count += 1;
    }
    Ok(count)
}

/// The step.
pub(crate) async fn run(b: &mut Build) -> Result<(), BuildError> {
    let cfg = b.cfg.clone();
    let label = cfg
        .cd
        .cd_label
        .clone()
        .filter(|l| !l.is_empty())
        .unwrap_or_else(|| "packer".to_string());
    b.out
        .say(format!("Creating CD disk (label {label})..."))
        .await;
    let work = tempfile::Builder::new()
        .prefix("packer-nutanix-cd")
        .tempdir()
        .map_err(|e| io_err("creating a temporary directory", &std::env::temp_dir(), e))?;
    let spec = cdrom::CdSpec {
        files: cfg.cd.cd_files.clone(),
        content: cfg.cd.cd_content.clone(),
        label: label.clone(),
        base_dir: std::env::current_dir().unwrap_or_default(),
    };
    let built = b
        .cancellable(async { Ok(cdrom::build_iso(&spec, work.path()).await) })
        .await?;
    let iso = match built {
        Ok(iso) => {
            b.out
                .message(format!(
                    "CD image written: {} file(s), {} bytes",
                    iso.files.len(),
                    iso.size
                ))
                .await;
            iso.path
        }
        Err(
            e @ (cdrom::CdError::TooLarge(_)
            | cdrom::CdError::Internal(_)
            | cdrom::CdError::Task(_)),
        ) => {
            b.out
                .message(format!(
                    "The built-in ISO writer could not make the CD ({e}); trying an external tool"
                ))
                .await;
            external(b, &label, work.path()).await?
        }
        Err(e) => return Err(BuildError::unexpected("creating the CD", e.to_string())),
    };
    let (image, _size) = upload_local_image(
        b,
        LocalImage {
            path: &iso,
            name: format!("{}-cd.iso", cfg.vm.vm_name),
            image_type: ImageType::IsoImage,
            kind: Kind::CdImage,
            delete_after: true,
            attached: true,
        },
    )
    .await?;
    drop(work);
    b.st.cd_image = Some(image);
    Ok(())
}

/// The fallback: stage the files and run the first ISO tool found.
async fn external(b: &Build, label: &str, work: &Path) -> Result<PathBuf, BuildError> {
    let cfg = b.cfg.clone();
    let (tool, tool_path) =
        iso_tool().ok_or_else(|| BuildError::Unsupported(NO_TOOL.to_string()))?;
    let root = work.join("root");
    std::fs::create_dir_all(&root)
        .map_err(|e| io_err("creating CD staging directory", &root, e))?;
    let files = cfg.cd.cd_files.clone();
    let content = cfg.cd.cd_content.clone();
    let staged_root = root.clone();
    let count = tokio::task::spawn_blocking(move || stage(&staged_root, &files, &content))
        .await
        .map_err(|e| BuildError::unexpected("creating the CD", e.to_string()))??;
    let iso = work.join(format!("{}-cd-external.iso", cfg.vm.vm_name));
    let mut cmd = tokio::process::Command::new(&tool_path);
    cmd.args(tool_args(tool, label, &root, &iso))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let output = b
        .cancellable(async {
            cmd.output()
                .await
                .map_err(|e| io_err(&format!("running {tool}"), &tool_path, e))
        })
        .await?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(5).collect();
        return Err(BuildError::unexpected(
            "creating the CD",
            format!(
                "{tool} failed ({}): {}",
                output.status,
                tail.into_iter().rev().collect::<Vec<_>>().join(" / ")
            ),
        ));
    }
    b.out
        .message(format!("Made the CD with {count} item(s) using {tool}"))
        .await;
    Ok(iso)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(wildcard("*.cfg", "ks.cfg"));
        assert!(wildcard("k?.cfg", "ks.cfg"));
        assert!(wildcard("*", "anything"));
        assert!(wildcard("a*b*c", "aXXbYYc"));
        assert!(!wildcard("*.cfg", "ks.cfgx"));
        assert!(!wildcard("k?.cfg", "kss.cfg"));
    }

    #[test]
    fn staging_puts_files_at_the_root_and_keeps_directories() {
        let src = tempfile::tempdir().unwrap();
        std::fs::write(src.path().join("ks.cfg"), "ks").unwrap();
        std::fs::write(src.path().join("other.txt"), "o").unwrap();
        std::fs::create_dir_all(src.path().join("dir/sub")).unwrap();
        std::fs::write(src.path().join("dir/sub/x"), "x").unwrap();
        let root = tempfile::tempdir().unwrap();
        let files = vec![
            src.path().join("*.cfg").display().to_string(),
            src.path().join("dir").display().to_string(),
        ];
        let mut content = std::collections::BTreeMap::new();
        content.insert("meta/user-data".to_string(), "#cloud-config".to_string());
        let n = stage(root.path(), &files, &content).unwrap();
        assert_eq!(n, 3);
        assert_eq!(
            std::fs::read_to_string(root.path().join("ks.cfg")).unwrap(),
            "ks"
        );
        assert!(!root.path().join("other.txt").exists());
        assert_eq!(
            std::fs::read_to_string(root.path().join("dir/sub/x")).unwrap(),
            "x"
        );
        assert_eq!(
            std::fs::read_to_string(root.path().join("meta/user-data")).unwrap(),
            "#cloud-config"
        );
        let mut bad = std::collections::BTreeMap::new();
        bad.insert("../escape".to_string(), String::new());
        assert!(stage(root.path(), &[], &bad).is_err());
    }
}
