//! A cmd.exe subset: `&&`/`||`/`&` chains, `echo` (to stdout or `>>`/`>` files), `set`,
//! `exit`, `type`, `del`, `mkdir`, `timeout`, `shutdown`, `hostname`, `cmd /c`, batch files, and
//! handing `powershell`/`pwsh` command lines to the PowerShell interpreter.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use base64::Engine as _;

use super::text::{split_top, unquote, words};
use super::{known, ps, Flow, Proc};

type Boxed<'a> = Pin<Box<dyn Future<Output = Flow> + Send + 'a>>;

/// Runs one cmd.exe line (with `&&`, `||`, `&`).
pub(crate) fn run_line<'a>(proc: &'a mut Proc, line: &'a str) -> Boxed<'a> {
    Box::pin(async move {
        let mut last = 0i64;
        let mut skip = false;
        for (part, sep) in split_top(line, &["&&", "||", "&"], false) {
            if !skip {
                match run_simple(proc, part.trim()).await {
                    Flow::Next(c) => last = c,
                    other => return other,
                }
            }
            skip = match sep.as_deref() {
                Some("&&") => last != 0,
                Some("||") => last == 0,
                _ => false,
            };
        }
        Flow::Next(last)
    })
}

fn is_powershell(word: &str) -> bool {
    let w = unquote(word).to_ascii_lowercase().replace('/', "\\");
    let name = w.rsplit('\\').next().unwrap_or(&w);
    matches!(name, "powershell" | "powershell.exe" | "pwsh" | "pwsh.exe")
}

/// One command without chaining operators.
async fn run_simple(proc: &mut Proc, cmd: &str) -> Flow {
    let cmd = cmd.trim().trim_start_matches('@');
    if cmd.is_empty() {
        return Flow::Next(0);
    }
    let expanded = proc.expand_percent(cmd);
    let w = words(&expanded, false);
    let Some(first) = w.first() else {
        return Flow::Next(0);
    };
    if is_powershell(first) {
        return powershell(proc, &w).await;
    }
    let lower = unquote(first).to_ascii_lowercase();
    let rest = expanded
        .trim_start()
        .get(first.len()..)
        .unwrap_or_default()
        .trim_start();
    match lower.as_str() {
        "rem" | "::" => Flow::Next(0),
        "echo" | "echo." => echo(proc, rest, lower == "echo."),
        "set" => {
            let assignment = unquote(rest);
            if let Some((k, v)) = assignment.split_once('=') {
                proc.env
                    .insert(k.trim().to_ascii_uppercase(), v.to_string());
            }
            Flow::Next(0)
        }
        "exit" => {
            let args: Vec<&str> = rest
                .split_whitespace()
                .filter(|a| !a.eq_ignore_ascii_case("/b"))
                .collect();
            Flow::Exit(args.first().and_then(|a| a.parse().ok()).unwrap_or(0))
        }
        "hostname" => {
            let name = proc
                .with_machine(|m| m.hostname.clone())
                .unwrap_or_default();
            proc.out(&format!("{name}\r\n"));
            Flow::Next(0)
        }
        "type" => {
            let path = super::vfs::normalize(rest, &proc.cwd);
            match proc
                .with_machine(|m| m.vfs.get(&path).map(|f| f.data.clone()))
                .flatten()
            {
                Some(data) => {
                    proc.io.push(false, &data);
                    Flow::Next(0)
                }
                None => {
                    proc.err("The system cannot find the file specified.\r\n");
                    Flow::Next(1)
                }
            }
        }
        "del" | "erase" | "rmdir" | "rd" => {
            for target in words(rest, false).iter().filter(|a| !a.starts_with('/')) {
                let path = super::vfs::normalize(target, &proc.cwd);
                proc.with_machine(|m| m.vfs.remove(&path));
            }
            Flow::Next(0)
        }
        "mkdir" | "md" => {
            let path = super::vfs::normalize(rest, &proc.cwd);
            proc.with_machine(|m| m.vfs.mkdir_all(&path));
            Flow::Next(0)
        }
        "timeout" => {
            let secs = words(rest, false)
                .iter()
                .filter_map(|a| a.parse::<u64>().ok())
                .next()
                .unwrap_or(0);
            tokio::time::sleep(Duration::from_secs(secs)).await;
            Flow::Next(0)
        }
        "shutdown" => Flow::Next(shutdown(proc, rest)),
        "cmd" | "cmd.exe" => {
            let args = rest.trim_start();
            let inner = args
                .strip_prefix("/c")
                .or_else(|| args.strip_prefix("/C"))
                .or_else(|| args.strip_prefix("/k"))
                .unwrap_or(args);
            match run_line(proc, unquote(inner.trim())).await {
                Flow::Exit(c) | Flow::Next(c) => Flow::Next(c),
                t => t,
            }
        }
        _ => {
            let path = super::vfs::normalize(first, &proc.cwd);
            let ext = path
                .rsplit('.')
                .next()
                .unwrap_or_default()
                .to_ascii_lowercase();
            if ext == "bat" || ext == "cmd" {
                return batch(proc, &path).await;
            }
            if ext == "ps1" {
                return match ps::run_file(proc, &path).await {
                    Flow::Exit(c) | Flow::Next(c) => Flow::Next(c),
                    Flow::Throw(m) => {
                        proc.err(&format!("{m}\r\n"));
                        Flow::Next(1)
                    }
                };
            }
            if super::power::is_sysprep(first) {
                return Flow::Next(super::power::sysprep(proc, rest));
            }
            proc.not_interpreted(cmd);
            Flow::Next(proc.unknown_exit())
        }
    }
}

/// `echo text`, `echo text >> file`, `echo text > file`.
fn echo(proc: &mut Proc, rest: &str, blank: bool) -> Flow {
    let (text, redirect) = match split_redirect(rest) {
        Some((t, append, file)) => (t, Some((append, file))),
        None => (rest.to_string(), None),
    };
    let line = if blank { String::new() } else { text };
    match redirect {
        None => {
            if line.trim().eq_ignore_ascii_case("off") || line.trim().eq_ignore_ascii_case("on") {
                return Flow::Next(0);
            }
            proc.out(&format!("{line}\r\n"));
        }
        Some((append, file)) => {
            let path = super::vfs::normalize(&file, &proc.cwd);
            let data = format!("{line}\r\n");
            // Packer's winrmcp appends base64 chunks like this; note it for the record.
            if append && known::looks_like_base64(line.trim()) {
                proc.trace
                    .transfer
                    .get_or_insert_with(|| "winrmcp chunk".into());
            }
            proc.with_machine(|m| {
                if append {
                    m.vfs.append(&path, data.as_bytes());
                } else {
                    m.vfs.write(&path, data.into_bytes());
                }
            });
        }
    }
    Flow::Next(0)
}

/// Splits `text >> "file"` into (text, append, file).
fn split_redirect(s: &str) -> Option<(String, bool, String)> {
    let mut quote = false;
    let chars: Vec<(usize, char)> = s.char_indices().collect();
    for (n, &(i, c)) in chars.iter().enumerate() {
        if c == '"' {
            quote = !quote;
        }
        if c == '>' && !quote {
            let append = chars.get(n + 1).map(|&(_, c)| c) == Some('>');
            let skip = if append { 2 } else { 1 };
            let file_start = chars.get(n + skip).map_or(s.len(), |&(j, _)| j);
            let text = s.get(..i).unwrap_or_default().trim_end().to_string();
            let file = unquote(s.get(file_start..).unwrap_or_default().trim()).to_string();
            return Some((text, append, file));
        }
    }
    None
}

/// `shutdown /r /t N`, `shutdown /a`, `shutdown /s` (a power-off): returns the exit code Windows
/// would.
fn shutdown(proc: &mut Proc, args: &str) -> i64 {
    let lower = args.to_ascii_lowercase();
    let w: Vec<&str> = lower.split_whitespace().collect();
    let has = |flag: &str| w.iter().any(|a| *a == flag || *a == flag.replace('/', "-"));
    if has("/a") {
        return proc
            .with_machine(|m| {
                if m.restart.pending.take().is_some() {
                    0
                } else {
                    1116
                }
            })
            .unwrap_or(1116);
    }
    if has("/r") || has("/s") || has("/g") || has("/p") {
        let secs = w
            .iter()
            .position(|a| *a == "/t" || *a == "-t")
            .and_then(|i| w.get(i + 1))
            .and_then(|t| t.parse::<u64>().ok())
            .unwrap_or(30);
        let already = proc
            .with_machine(|m| m.restart.pending.is_some())
            .unwrap_or(false);
        if already {
            // ERROR_SHUTDOWN_IN_PROGRESS
            return 1115;
        }
        if has("/s") || has("/p") {
            super::power::power_off(proc, Duration::from_secs(secs));
            return 0;
        }
        // GUESS: how long Windows takes between `shutdown /r /t 0` returning and the network
        // going away; half a second leaves the command time to report its exit code.
        proc.schedule_restart(Duration::from_millis(500).max(Duration::from_secs(secs)));
        return 0;
    }
    proc.not_interpreted(&format!("shutdown {args}"));
    0
}

/// Runs a `.bat`/`.cmd` file line by line.
async fn batch(proc: &mut Proc, path: &str) -> Flow {
    let Some(data) = proc
        .with_machine(|m| m.vfs.get(path).map(|f| f.data.clone()))
        .flatten()
    else {
        proc.err(&format!(
            "'{path}' is not recognized as an internal or external command,\r\noperable program or batch file.\r\n"
        ));
        return Flow::Next(9009);
    };
    if proc.depth >= super::ps::MAX_DEPTH {
        proc.err("The batch file nests too deeply (simulator limit).\r\n");
        return Flow::Next(1);
    }
    proc.trace.scripts_run.push(path.to_string());
    let text = String::from_utf8_lossy(&data).into_owned();
    proc.depth += 1;
    let mut last = 0;
    let mut flow = None;
    for line in text.lines() {
        match run_line(proc, line.trim()).await {
            Flow::Next(c) => last = c,
            Flow::Exit(c) => {
                flow = Some(Flow::Next(c));
                break;
            }
            t @ Flow::Throw(_) => {
                flow = Some(t);
                break;
            }
        }
    }
    proc.depth -= 1;
    flow.unwrap_or(Flow::Next(last))
}

/// `powershell [options] -EncodedCommand X | -File F | -Command C | "C"`.
async fn powershell(proc: &mut Proc, w: &[String]) -> Flow {
    let mut i = 1usize;
    while let Some(arg) = w.get(i) {
        let a = arg.to_ascii_lowercase();
        let opt = a.trim_start_matches('-');
        if !a.starts_with('-') {
            // The rest is the command text.
            let text = w.get(i..).unwrap_or_default().join(" ");
            return run_ps_text(proc, unquote(&text)).await;
        }
        match opt {
            "encodedcommand" | "enc" | "e" | "ec" => {
                let Some(b64) = w.get(i + 1) else {
                    proc.err("-EncodedCommand needs an argument\r\n");
                    return Flow::Next(1);
                };
                let Some(script) = decode_utf16_b64(b64) else {
                    proc.err("Cannot process the command because the value of -EncodedCommand is not valid base64 UTF-16.\r\n");
                    return Flow::Next(1);
                };
                return run_ps_text(proc, &script).await;
            }
            "file" | "f" => {
                let Some(file) = w.get(i + 1) else {
                    proc.err("-File needs an argument\r\n");
                    return Flow::Next(1);
                };
                let path = super::vfs::normalize(&proc.expand_percent(file), &proc.cwd);
                return match ps::run_file(proc, &path).await {
                    Flow::Next(c) | Flow::Exit(c) => Flow::Next(c),
                    Flow::Throw(m) => {
                        proc.err(&format!("{m}\r\n"));
                        Flow::Next(1)
                    }
                };
            }
            "command" | "c" => {
                let text = w.get(i + 1..).unwrap_or_default().join(" ");
                return run_ps_text(proc, unquote(&text)).await;
            }
            "executionpolicy" | "ep" | "ex" | "inputformat" | "outputformat" | "windowstyle"
            | "configurationname" | "version" => i += 2,
            _ => i += 1,
        }
    }
    Flow::Next(0)
}

async fn run_ps_text(proc: &mut Proc, script: &str) -> Flow {
    if proc.trace.powershell.len() < 50 {
        proc.trace.powershell.push(script.to_string());
    }
    match ps::run_script(proc, script).await {
        Flow::Next(c) | Flow::Exit(c) => Flow::Next(c),
        Flow::Throw(m) => {
            proc.err(&format!("{m}\r\n"));
            Flow::Next(1)
        }
    }
}

/// Decodes `-EncodedCommand`'s base64 of UTF-16LE.
pub(crate) fn decode_utf16_b64(b64: &str) -> Option<String> {
    let raw = base64::engine::general_purpose::STANDARD
        .decode(unquote(b64).as_bytes())
        .ok()?;
    if raw.len() % 2 != 0 {
        return None;
    }
    let units: Vec<u16> = raw
        .chunks_exact(2)
        .map(|c| {
            u16::from_le_bytes([
                c.first().copied().unwrap_or(0),
                c.get(1).copied().unwrap_or(0),
            ])
        })
        .collect();
    String::from_utf16(&units).ok()
}
