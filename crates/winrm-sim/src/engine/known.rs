//! Recognisers for the transfer scripts WinRM clients send, so the simulator can carry out
//! what they would do on Windows: Packer's winrmcp restore and cleanup scripts, Packer's
//! download script, and our communicator's upload and download scripts. Each is recognised by
//! text that script always contains, and its parameters are read from the script itself.

use base64::Engine as _;
use winrm_communicator::powershell::{
    DOWNLOAD_BLOCK, DOWNLOAD_MARKER, UPLOAD_DONE_PREFIX, UPLOAD_MARKER,
};

use super::text::balanced;
use super::{vfs, Flow, Proc};

/// True for text that is plausibly one base64 chunk.
pub(crate) fn looks_like_base64(s: &str) -> bool {
    s.len() >= 4
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'=')
}

/// The argument of the first `GetFullPath(...)` after `anchor`, evaluated and normalised.
fn full_path_after(proc: &Proc, script: &str, anchor: &str) -> Option<String> {
    let at = script.find(anchor)?;
    let rest = script.get(at..)?;
    let call = rest.find("GetFullPath(")?;
    let (arg, _) = balanced(rest.get(call..)?, '(', ')')?;
    let arg = arg.trim();
    let (expr, trim_quotes) = match arg.strip_suffix(".Trim(\"'\")") {
        Some(e) => (e, true),
        None => (arg, false),
    };
    let mut value = super::expr::eval(proc, expr);
    if trim_quotes {
        value = value.trim_matches('\'').to_string();
    }
    Some(vfs::normalize(&value, &proc.cwd))
}

/// Runs `script` if it is a known transfer script; `None` otherwise.
pub(crate) async fn run(proc: &mut Proc, script: &str) -> Option<Flow> {
    if script.contains(UPLOAD_MARKER) {
        let dest = full_path_after(proc, script, "$dest =")?;
        return Some(our_upload(proc, &dest).await);
    }
    if script.contains(DOWNLOAD_MARKER) {
        let src = full_path_after(proc, script, "$src =")?;
        return Some(our_download(proc, &src));
    }
    if script.contains("$tmp_file_path = [System.IO.Path]::GetFullPath(") {
        let tmp = full_path_after(proc, script, "$tmp_file_path =")?;
        if script.contains("$dest_file_path = [System.IO.Path]::GetFullPath(") {
            let dest = full_path_after(proc, script, "$dest_file_path =")?;
            return Some(winrmcp_restore(proc, &tmp, &dest));
        }
        if script.contains("Remove-Item $tmp_file_path") {
            proc.trace.transfer = Some("winrmcp cleanup".into());
            proc.with_machine(|m| m.vfs.remove(&tmp));
            return Some(Flow::Next(0));
        }
    }
    if script.contains("[System.IO.File]::ReadAllBytes(") && script.contains("ToBase64String") {
        let at = script.find("ReadAllBytes(")?;
        let (arg, _) = balanced(script.get(at..)?, '(', ')')?;
        let src = vfs::normalize(&super::expr::eval(proc, &arg), &proc.cwd);
        proc.trace.transfer = Some(format!("packer download {src}"));
        return Some(
            match proc
                .with_machine(|m| m.vfs.get(&src).map(|f| f.data.clone()))
                .flatten()
            {
                Some(data) => {
                    let b64 = base64::engine::general_purpose::STANDARD.encode(data);
                    proc.out(&format!("{b64}\r\n"));
                    Flow::Next(0)
                }
                None => {
                    proc.err(&format!(
                    "Exception calling \"ReadAllBytes\" with \"1\" argument(s): \"Could not find file '{src}'.\"\r\n"
                ));
                    Flow::Exit(1)
                }
            },
        );
    }
    None
}

/// Our upload: base64 lines on stdin until EOF or `.`, written to `dest`.
async fn our_upload(proc: &mut Proc, dest: &str) -> Flow {
    proc.trace.transfer = Some(format!("upload {dest}"));
    if proc.with_machine(|m| m.vfs.is_dir(dest)).unwrap_or(false) {
        proc.err(&format!("{dest} is a directory\r\n"));
        return Flow::Exit(2);
    }
    let mut data = Vec::new();
    while let Some(line) = proc.read_line().await {
        if line == b"." {
            break;
        }
        let trimmed: Vec<u8> = line
            .into_iter()
            .filter(|b| !b.is_ascii_whitespace())
            .collect();
        if trimmed.is_empty() {
            continue;
        }
        match base64::engine::general_purpose::STANDARD.decode(&trimmed) {
            Ok(bytes) => data.extend_from_slice(&bytes),
            Err(e) => {
                proc.err(&format!(
                    "Exception calling \"FromBase64String\" with \"1\" argument(s): \"The input is not a valid Base-64 string ({e}).\"\r\n"
                ));
                return Flow::Exit(1);
            }
        }
    }
    let n = data.len();
    proc.with_machine(|m| m.vfs.write(dest, data));
    proc.out(&format!("{UPLOAD_DONE_PREFIX}{n}\r\n"));
    Flow::Exit(0)
}

/// Our download: base64 lines of `DOWNLOAD_BLOCK` bytes.
fn our_download(proc: &mut Proc, src: &str) -> Flow {
    proc.trace.transfer = Some(format!("download {src}"));
    let Some(data) = proc
        .with_machine(|m| m.vfs.get(src).map(|f| f.data.clone()))
        .flatten()
    else {
        proc.err(&format!("{src} does not exist or is not a file\r\n"));
        return Flow::Exit(2);
    };
    for block in data.chunks(DOWNLOAD_BLOCK) {
        let b64 = base64::engine::general_purpose::STANDARD.encode(block);
        proc.out(&format!("{b64}\r\n"));
    }
    Flow::Exit(0)
}

/// winrmcp's restore: decode the temp file's base64 lines into `dest`.
fn winrmcp_restore(proc: &mut Proc, tmp: &str, dest: &str) -> Flow {
    proc.trace.transfer = Some(format!("winrmcp restore {dest}"));
    if proc.with_machine(|m| m.vfs.is_dir(dest)).unwrap_or(false) {
        return Flow::Exit(1);
    }
    let text = proc
        .with_machine(|m| m.vfs.get(tmp).map(|f| f.data.clone()))
        .flatten();
    let Some(text) = text else {
        proc.with_machine(|m| m.vfs.write(dest, Vec::new()));
        return Flow::Next(0);
    };
    let mut data = Vec::new();
    for line in text.split(|&b| b == b'\n') {
        let trimmed: Vec<u8> = line
            .iter()
            .copied()
            .filter(|b| !b.is_ascii_whitespace())
            .collect();
        if trimmed.is_empty() {
            continue;
        }
        match base64::engine::general_purpose::STANDARD.decode(&trimmed) {
            Ok(bytes) => data.extend_from_slice(&bytes),
            Err(e) => {
                proc.err(&format!("Exception calling \"FromBase64String\": {e}\r\n"));
                return Flow::Exit(1);
            }
        }
    }
    proc.with_machine(|m| m.vfs.write(dest, data));
    Flow::Next(0)
}
