//! The fallback when our writer cannot make an image (an ISO 9660 limit, an internal error): the
//! tools Packer's SDK uses, xorriso, mkisofs or genisoimage, run on the same collected tree
//! (copied into a staging folder), so both paths put exactly the same files on the CD.

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::error::CdError;
use crate::tree::{DirNode, Node, Source};

/// The ISO tools, in preference order.
const TOOLS: &[&str] = &["xorriso", "mkisofs", "genisoimage"];

/// The first ISO tool on PATH.
fn iso_tool() -> Option<(&'static str, PathBuf)> {
    let path = std::env::var_os("PATH")?;
    TOOLS.iter().find_map(|name| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
            .map(|p| (*name, p))
    })
}

/// How each tool is told to make a Rock Ridge + Joliet image.
fn tool_args(tool: &str, label: &str, source: &Path, dest: &Path) -> Vec<OsString> {
    let mut args: Vec<OsString> = Vec::new();
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

/// Copies the tree into `dir`.
fn stage(tree: &DirNode, dir: &Path) -> Result<(), CdError> {
    let output = |path: &Path| {
        let path = path.to_path_buf();
        move |source| CdError::Output { path, source }
    };
    fs::create_dir_all(dir).map_err(output(dir))?;
    for (name, node) in &tree.children {
        let dest = dir.join(name);
        match node {
            Node::Dir(d) => stage(d, &dest)?,
            Node::File(f) => match &f.source {
                Source::Inline(text) => fs::write(&dest, text.as_bytes()).map_err(output(&dest))?,
                Source::Host { path, entry } => {
                    fs::copy(path, &dest).map_err(|source| CdError::Source {
                        entry: entry.to_string(),
                        path: path.clone(),
                        source,
                    })?;
                }
            },
        }
    }
    Ok(())
}

/// Makes `dest` from `tree` with an external tool; `why` is what stopped our writer. Stops
/// (killing the tool) when `cancel` is set.
pub(crate) fn make(
    tree: &DirNode,
    label: &str,
    work: &Path,
    dest: &Path,
    why: &CdError,
    cancel: &AtomicBool,
) -> Result<&'static str, CdError> {
    let Some((tool, tool_path)) = iso_tool() else {
        return Err(CdError::NoTool {
            why: why.to_string(),
        });
    };
    tracing::info!(%why, tool, "the built-in ISO writer could not make the CD; trying an external tool");
    let root = work.join("root");
    stage(tree, &root)?;
    // Its chatter goes to a file: a pipe nobody reads while it runs could fill and stall it.
    let log_path = work.join("tool.log");
    let log = fs::File::create(&log_path).map_err(|source| CdError::Output {
        path: log_path.clone(),
        source,
    })?;
    let mut child = Command::new(&tool_path)
        .args(tool_args(tool, label, &root, dest))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .map_err(|source| CdError::Tool {
            tool,
            message: source.to_string(),
        })?;
    let status = loop {
        if cancel.load(Ordering::Relaxed) {
            let _ = child.kill();
            let _ = child.wait();
            return Err(CdError::Task("cancelled".into()));
        }
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => std::thread::sleep(Duration::from_millis(50)),
            Err(source) => {
                return Err(CdError::Tool {
                    tool,
                    message: source.to_string(),
                })
            }
        }
    };
    if !status.success() {
        let stderr = fs::read_to_string(&log_path).unwrap_or_default();
        let tail: Vec<&str> = stderr.lines().rev().take(5).collect();
        return Err(CdError::Tool {
            tool,
            message: format!(
                "{status}: {}",
                tail.into_iter().rev().collect::<Vec<_>>().join(" / ")
            ),
        });
    }
    Ok(tool)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tool_is_asked_for_rock_ridge_and_joliet() {
        let args = tool_args("xorriso", "OEMDRV", Path::new("/s"), Path::new("/d.iso"));
        let text: Vec<String> = args
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            text,
            [
                "-as",
                "genisoimage",
                "-rock",
                "-joliet",
                "-volid",
                "OEMDRV",
                "-output",
                "/d.iso",
                "/s"
            ]
        );
        assert_eq!(
            tool_args("mkisofs", "x", Path::new("/s"), Path::new("/d")).len(),
            7
        );
    }
}
