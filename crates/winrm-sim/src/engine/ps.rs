//! A PowerShell subset: statements separated by `;` and newlines; `exit`, `echo`/`Write-Output`/
//! `Write-Host`/`Write-Error`, `[Console]::Out/Error.WriteLine`, `throw`, `try`/`catch`,
//! `if`/`elseif`/`else` on simple conditions (`Test-Path`, comparisons, `-and`/`-or`/`-not`),
//! variables and `$env:`, `& { }`, running `.ps1` files with `&` or `.`, `Start-Sleep`,
//! `Remove-Item`, `New-Item -ItemType Directory`, `Get-Content`, `Restart-Computer`, `Stop-Computer`, and native
//! commands (handed to the cmd interpreter, setting `$LASTEXITCODE`).

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use super::expr::{condition, eval};
use super::text::{balanced, split_top, unquote, words};
use super::{cmd, known, vfs, Flow, Proc};

type Boxed<'a> = Pin<Box<dyn Future<Output = Flow> + Send + 'a>>;

/// Deepest nesting of scripts and blocks (a script that runs itself stops here).
pub(crate) const MAX_DEPTH: u32 = 32;

/// Runs a whole script: known transfer scripts first, then statement by statement.
pub(crate) fn run_script<'a>(proc: &'a mut Proc, script: &'a str) -> Boxed<'a> {
    Box::pin(async move {
        if let Some(flow) = known::run(proc, script).await {
            return flow;
        }
        run_block(proc, script).await
    })
}

/// Runs a `.ps1` file from the machine.
pub(crate) fn run_file<'a>(proc: &'a mut Proc, path: &'a str) -> Boxed<'a> {
    Box::pin(async move {
        let Some(data) = proc
            .with_machine(|m| m.vfs.get(path).map(|f| f.data.clone()))
            .flatten()
        else {
            return Flow::Throw(format!(
                "The term '{path}' is not recognized as the name of a cmdlet, function, script file, or operable program."
            ));
        };
        proc.trace.scripts_run.push(path.to_string());
        let text = String::from_utf8_lossy(&data)
            .trim_start_matches('\u{feff}')
            .to_string();
        match run_script(proc, &text).await {
            // `exit` ends the script only; its code becomes $LASTEXITCODE.
            Flow::Exit(c) | Flow::Next(c) => {
                proc.vars.insert("lastexitcode".into(), c.to_string());
                Flow::Next(c)
            }
            t => t,
        }
    })
}

/// Runs statements in order.
pub(crate) fn run_block<'a>(proc: &'a mut Proc, block: &'a str) -> Boxed<'a> {
    Box::pin(async move {
        if proc.depth >= MAX_DEPTH {
            return Flow::Throw("The script nests too deeply (simulator limit).".into());
        }
        proc.depth += 1;
        let mut last = 0i64;
        let mut result = None;
        let parts = split_top(block, &[";", "\n"], true);
        let mut pending: Option<String> = None;
        for (part, _) in parts {
            let stmt = part.trim().to_string();
            // `try {..}` / `if (..) {..}` may be followed by `catch`/`else` on the next line.
            let stmt = match pending.take() {
                Some(prev) => {
                    let lower = stmt.to_ascii_lowercase();
                    if lower.starts_with("catch")
                        || lower.starts_with("finally")
                        || lower.starts_with("else")
                    {
                        format!("{prev} {stmt}")
                    } else {
                        match run_statement(proc, &prev).await {
                            Flow::Next(c) => last = c,
                            other => {
                                result = Some(other);
                                break;
                            }
                        }
                        stmt
                    }
                }
                None => stmt,
            };
            if stmt.is_empty() || stmt.starts_with('#') {
                continue;
            }
            let lower = stmt.to_ascii_lowercase();
            if lower.starts_with("try") || lower.starts_with("if") || lower.starts_with("elseif") {
                pending = Some(stmt);
                continue;
            }
            match run_statement(proc, &stmt).await {
                Flow::Next(c) => last = c,
                other => {
                    result = Some(other);
                    break;
                }
            }
        }
        if result.is_none() {
            if let Some(prev) = pending {
                match run_statement(proc, &prev).await {
                    Flow::Next(c) => last = c,
                    other => result = Some(other),
                }
            }
        }
        proc.depth -= 1;
        result.unwrap_or(Flow::Next(last))
    })
}

fn starts_word(stmt: &str, word: &str) -> bool {
    let lower = stmt.to_ascii_lowercase();
    lower.starts_with(word)
        && lower
            .get(word.len()..)
            .and_then(|r| r.chars().next())
            .is_none_or(|c| !c.is_ascii_alphanumeric() && c != '-' && c != '_')
}

/// One statement.
fn run_statement<'a>(proc: &'a mut Proc, stmt: &'a str) -> Boxed<'a> {
    Box::pin(async move {
        let stmt = stmt.trim();
        let lower = stmt.to_ascii_lowercase();
        if starts_word(stmt, "try") {
            return try_catch(proc, stmt).await;
        }
        if starts_word(stmt, "if") {
            return if_else(proc, stmt).await;
        }
        if starts_word(stmt, "exit") {
            let arg = stmt.get(4..).unwrap_or_default().trim();
            let code = if arg.is_empty() {
                0
            } else {
                eval(proc, arg).trim().parse::<i64>().unwrap_or(0)
            };
            return Flow::Exit(code);
        }
        if starts_word(stmt, "throw") {
            let msg = eval(proc, stmt.get(5..).unwrap_or_default().trim());
            return Flow::Throw(if msg.is_empty() {
                "ScriptHalted".into()
            } else {
                msg
            });
        }
        if let Some(rest) = stmt.strip_prefix('&').or_else(|| dot_source(stmt)) {
            return invoke(proc, rest.trim()).await;
        }
        if let Some(flow) = assignment(proc, stmt) {
            return flow;
        }
        for (prefix, stderr) in [
            ("[console]::out.writeline(", false),
            ("[console]::error.writeline(", true),
        ] {
            if lower.starts_with(prefix) {
                let inner = balanced(stmt, '(', ')').map(|(i, _)| i).unwrap_or_default();
                let text = eval(proc, &inner);
                if stderr {
                    proc.err(&format!("{text}\r\n"));
                } else {
                    proc.out(&format!("{text}\r\n"));
                }
                return Flow::Next(0);
            }
        }
        let w = words(stmt, true);
        let Some(first) = w.first() else {
            return Flow::Next(0);
        };
        let args: Vec<String> = w.iter().skip(1).cloned().collect();
        match first.to_ascii_lowercase().as_str() {
            "echo" | "write-output" | "write" | "write-host" | "out-host" => {
                let text = args
                    .iter()
                    .filter(|a| !a.starts_with('-'))
                    .map(|a| eval(proc, a))
                    .collect::<Vec<_>>()
                    .join(" ");
                proc.out(&format!("{text}\r\n"));
                Flow::Next(0)
            }
            "write-error" => {
                let text = args
                    .iter()
                    .map(|a| eval(proc, a))
                    .collect::<Vec<_>>()
                    .join(" ");
                proc.err(&format!("{text}\r\n"));
                Flow::Next(0)
            }
            "start-sleep" | "sleep" => {
                let ms = args.iter().any(|a| {
                    a.eq_ignore_ascii_case("-milliseconds") || a.eq_ignore_ascii_case("-m")
                });
                let n = args
                    .iter()
                    .find_map(|a| a.parse::<f64>().ok())
                    .unwrap_or(0.0);
                let d = if ms { n / 1000.0 } else { n };
                tokio::time::sleep(Duration::from_secs_f64(d.clamp(0.0, 86_400.0))).await;
                Flow::Next(0)
            }
            "remove-item" | "rm" | "del" | "ri" => {
                if let Some(p) = path_arg(proc, &args) {
                    proc.with_machine(|m| m.vfs.remove(&p));
                }
                Flow::Next(0)
            }
            "new-item" | "mkdir" | "md" => {
                let dir = mkdir_like(first, &args);
                if let (true, Some(p)) = (dir, path_arg(proc, &args)) {
                    proc.with_machine(|m| m.vfs.mkdir_all(&p));
                } else {
                    proc.not_interpreted(stmt);
                }
                Flow::Next(0)
            }
            "get-content" | "cat" | "type" | "gc" => match path_arg(proc, &args) {
                Some(p) => match proc
                    .with_machine(|m| m.vfs.get(&p).map(|f| f.data.clone()))
                    .flatten()
                {
                    Some(data) => {
                        proc.io.push(false, &data);
                        Flow::Next(0)
                    }
                    None => {
                        Flow::Throw(format!("Cannot find path '{p}' because it does not exist."))
                    }
                },
                None => Flow::Next(0),
            },
            "restart-computer" => {
                proc.schedule_restart(Duration::from_millis(500));
                Flow::Next(0)
            }
            "stop-computer" => {
                super::power::power_off(proc, Duration::ZERO);
                Flow::Next(0)
            }
            "set-variable" | "set-psdebug" | "set-executionpolicy" | "out-null" | "$null" => {
                Flow::Next(0)
            }
            _ => native(proc, stmt).await,
        }
    })
}

fn dot_source(stmt: &str) -> Option<&str> {
    let rest = stmt.strip_prefix(". ")?;
    Some(rest)
}

fn mkdir_like(first: &str, args: &[String]) -> bool {
    let f = first.to_ascii_lowercase();
    if f == "mkdir" || f == "md" {
        return true;
    }
    args.windows(2).any(|p| {
        p.first()
            .is_some_and(|a| a.eq_ignore_ascii_case("-itemtype") || a.eq_ignore_ascii_case("-type"))
            && p.get(1)
                .is_some_and(|v| unquote(v).eq_ignore_ascii_case("directory"))
    })
}

/// The path argument of a cmdlet: `-Path X`, `-LiteralPath X`, or the first positional word.
pub(crate) fn path_arg(proc: &Proc, args: &[String]) -> Option<String> {
    let mut i = 0;
    let mut positional = None;
    while let Some(a) = args.get(i) {
        let l = a.to_ascii_lowercase();
        if l == "-path" || l == "-literalpath" {
            return args
                .get(i + 1)
                .map(|p| vfs::normalize(&eval(proc, p), &proc.cwd));
        }
        if l.starts_with('-') {
            // Switches we know take a value.
            if matches!(
                l.as_str(),
                "-itemtype"
                    | "-type"
                    | "-erroraction"
                    | "-ea"
                    | "-pathtype"
                    | "-encoding"
                    | "-value"
            ) {
                i += 1;
            }
        } else if positional.is_none() {
            positional = Some(a.clone());
        }
        i += 1;
    }
    positional.map(|p| vfs::normalize(&eval(proc, &p), &proc.cwd))
}

/// `$x = ...` and `$env:X = ...`.
fn assignment(proc: &mut Proc, stmt: &str) -> Option<Flow> {
    let name = stmt.strip_prefix('$')?;
    let (lhs, rhs) = name.split_once('=')?;
    let lhs = lhs.trim();
    if lhs.is_empty() || lhs.contains(char::is_whitespace) || lhs.ends_with(['!', '<', '>', '-']) {
        return None;
    }
    let value = eval(proc, rhs.trim());
    match lhs.get(..4).map(str::to_ascii_lowercase).as_deref() {
        Some("env:") => {
            proc.env
                .insert(lhs.get(4..).unwrap_or_default().to_ascii_uppercase(), value);
        }
        _ => {
            proc.vars.insert(lhs.to_ascii_lowercase(), value);
        }
    }
    Some(Flow::Next(0))
}

/// `& { block }`, `& 'file.ps1'`, `. file.ps1`, `& "native.exe" args`.
async fn invoke(proc: &mut Proc, rest: &str) -> Flow {
    if rest.starts_with('{') {
        let inner = balanced(rest, '{', '}').map(|(i, _)| i).unwrap_or_default();
        return run_block(proc, &inner).await;
    }
    let w = words(rest, true);
    let Some(target) = w.first() else {
        return Flow::Next(0);
    };
    let path = vfs::normalize(&eval(proc, target), &proc.cwd);
    let lower = path.to_ascii_lowercase();
    if lower.ends_with(".ps1") {
        return run_file(proc, &path).await;
    }
    let line = format!("\"{path}\" {}", w.get(1..).unwrap_or_default().join(" "));
    native(proc, &line).await
}

/// A native command: run by the cmd interpreter; its code becomes `$LASTEXITCODE`.
async fn native(proc: &mut Proc, line: &str) -> Flow {
    match cmd::run_line(proc, line).await {
        Flow::Next(c) | Flow::Exit(c) => {
            proc.vars.insert("lastexitcode".into(), c.to_string());
            Flow::Next(c)
        }
        t => t,
    }
}

/// `try { A } catch { B } [finally { C }]`.
async fn try_catch(proc: &mut Proc, stmt: &str) -> Flow {
    let Some((body, rest)) = balanced(stmt, '{', '}') else {
        return Flow::Throw("Missing closing '}' in statement block (simulator parse).".into());
    };
    let rest_lower = rest.trim_start().to_ascii_lowercase();
    let (catch, rest) = if rest_lower.starts_with("catch") {
        balanced(&rest, '{', '}').map_or((None, String::new()), |(c, r)| (Some(c), r))
    } else {
        (None, rest)
    };
    let finally = rest
        .trim_start()
        .to_ascii_lowercase()
        .starts_with("finally")
        .then(|| balanced(&rest, '{', '}').map(|(f, _)| f))
        .flatten();
    let mut flow = run_block(proc, &body).await;
    if let (Flow::Throw(msg), Some(c)) = (&flow, &catch) {
        proc.vars.insert("_".into(), msg.clone());
        flow = run_block(proc, c).await;
    }
    if let Some(f) = finally {
        let _ = run_block(proc, &f).await;
    }
    flow
}

/// `if (c) { A } elseif (d) { B } else { C }`.
async fn if_else(proc: &mut Proc, stmt: &str) -> Flow {
    let mut rest = stmt.trim().to_string();
    loop {
        let lower = rest.to_ascii_lowercase();
        let body_rest = if lower.starts_with("if") || lower.starts_with("elseif") {
            let Some((cond, after)) = balanced(&rest, '(', ')') else {
                return Flow::Next(0);
            };
            let Some((body, after)) = balanced(&after, '{', '}') else {
                return Flow::Next(0);
            };
            if condition(proc, &cond) {
                return run_block(proc, &body).await;
            }
            after
        } else if lower.starts_with("else") {
            let body = balanced(&rest, '{', '}')
                .map(|(b, _)| b)
                .unwrap_or_default();
            return run_block(proc, &body).await;
        } else {
            return Flow::Next(0);
        };
        rest = body_rest.trim().to_string();
        if rest.is_empty() {
            return Flow::Next(0);
        }
    }
}
